"""Without OpenTelemetry, or with it installed and unused, the SDK imports none of it and works as before."""

import subprocess
import sys

import pytest

# Runs in a fresh interpreter: a reference server, a first call (password grant), a 401 renewal.
CALLS = """
import sys
from mdnotesropcgwithoutauthscopes.http import tracing
from mdnotesropcgwithoutauthscopes.testing import MdNotesServer, client_for

with MdNotesServer() as server, client_for(server) as client:
    assert client.service.get_status().status
    server.revoke_all_tokens()
    assert client.user.get_user().email
    tracing.add_event(tracing.EVENT_TOKEN_ADOPTED)
    stats = server.stats()
print(sorted(name for name in sys.modules if name.split(".")[0] == "opentelemetry"))
print(stats["token_requests"], stats["api_requests"])
"""

# What an uninstallable package looks like to import: a finder that refuses it.
BLOCK = """
import importlib.abc, sys

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "opentelemetry":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, Block())
try:
    import opentelemetry.trace
except ModuleNotFoundError:
    pass
else:
    raise SystemExit("opentelemetry is still importable")
"""


def run(code: str) -> list[str]:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


@pytest.mark.parametrize("setup", [BLOCK, ""], ids=["opentelemetry not installed", "installed, never imported"])
def test_calls_work_and_import_nothing_of_opentelemetry(setup):
    imported, counts = run(setup + CALLS)
    assert imported == "[]"
    assert counts == "2 3"  # password grant, refresh after the 401; GET /status, GET /user twice


def test_with_the_api_imported_and_no_tracer_provider_set_no_span_is_started():
    code = (
        "from opentelemetry import trace\n"
        "from mdnotesropcgwithoutauthscopes.http import tracing\n"
        "from mdnotesropcgwithoutauthscopes.controllers.base_controller import Endpoint\n"
        "from mdnotesropcgwithoutauthscopes.http.http_request import HttpRequest\n"
        "from mdnotesropcgwithoutauthscopes.models.service_status import ServiceStatus\n"
        "endpoint = Endpoint('GET', '/status', ServiceStatus)\n"
        "request = HttpRequest('GET', 'http://127.0.0.1:1/status')\n"
        "print(tracing.call_span(request, endpoint.path) is tracing._NO_SPAN)\n"
        "trace.set_tracer_provider(trace.NoOpTracerProvider())\n"
        "print(tracing.call_span(request, endpoint.path) is tracing._NO_SPAN)\n" + CALLS
    )
    no_provider, no_op_provider, _, counts = run(code)
    assert (no_provider, no_op_provider, counts) == ("True", "True", "2 3")
