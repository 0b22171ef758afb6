"""A client shared across fork(): each process gets its own connections."""

import os

import pytest

from tests.helpers.integration import client_for


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() is POSIX-only")
def test_forked_child_does_not_reuse_the_parents_connection(server):
    client = client_for(server)
    client.service.get_status()
    assert server.stats()["connections"] == 1

    pid = os.fork()
    if pid == 0:  # the child: a call must work, on a connection of its own
        code = 0
        try:
            client.service.get_status()
        except BaseException:  # noqa: BLE001 - any failure becomes the exit status
            code = 1
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert server.stats()["connections"] == 2

    client.service.get_status()  # the parent's pooled connection is still usable
    assert server.stats()["connections"] == 2
