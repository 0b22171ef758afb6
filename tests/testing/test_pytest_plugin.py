"""The pytest plugin, as a user meets it: a nested pytest run of a small user suite (``pytester``)."""

import importlib.metadata
import subprocess
import sys
import textwrap

USER_SUITE = """
import socket

import pytest
import requests

from mdnotesropcgwithoutauthscopes.exceptions.api_exception import APIException

PORTS = []


def test_client_talks_to_the_running_server(mdnotes_server, mdnotes_client):
    assert mdnotes_client.user.get_user().email == "demo@example.com"
    assert mdnotes_server.stats()["password_grants"] == 1
    PORTS.append(mdnotes_server.port)


def test_the_previous_server_was_stopped():
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", PORTS[0]), timeout=2).close()


@pytest.mark.mdnotes_server(token_lifetime=1.5, rotate_refresh_tokens=False)
def test_marker_settings_reach_the_server(mdnotes_server, mdnotes_client):
    mdnotes_client.service.get_status()
    assert mdnotes_client.http_ropcg.token.expires_in == 1.5
    assert mdnotes_server.rotate_refresh_tokens is False


def test_faults_from_python(mdnotes_server, mdnotes_client):
    mdnotes_client.service.get_status()
    mdnotes_server.set_faults(status_503_count=1, retry_after=3)
    with pytest.raises(APIException) as info:
        mdnotes_client.service.get_status()
    assert info.value.response.headers["Retry-After"] == "3"


def test_factory_starts_more_servers(mdnotes_server_factory):
    one = mdnotes_server_factory(username="ann", password="ann-pw")
    two = mdnotes_server_factory()
    assert one.port != two.port and one.users[0].username == "ann"


def test_responses_helper_is_active(mdnotes_responses):
    reply = requests.get(mdnotes_responses.status_url, timeout=5)
    assert reply.status_code == 401
    assert mdnotes_responses.stats()["status_requests"] == 1


@pytest.mark.mdnotes_responses(base_uri="https://notes.example/api", token_lifetime=60)
def test_responses_marker(mdnotes_responses):
    assert mdnotes_responses.token_url == "https://notes.example/api/token"


def test_the_plugin_is_registered_under_its_entry_point_name(pytestconfig):
    assert pytestconfig.pluginmanager.has_plugin("mdnotes")
"""


def test_user_suite_uses_every_fixture_and_marker(pytester):
    pytester.makepyfile(test_user=USER_SUITE)
    result = pytester.runpytest("-p", "no:cacheprovider", "--strict-markers")
    result.assert_outcomes(passed=8)


def test_users_own_fixture_of_the_same_name_wins(pytester):
    pytester.makeconftest(
        """
        import pytest

        @pytest.fixture
        def mdnotes_server():
            return "the user's own"
        """
    )
    pytester.makepyfile(
        """
        def test_own(mdnotes_server):
            assert mdnotes_server == "the user's own"
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_the_plugin_can_be_turned_off(pytester):
    pytester.makepyfile(
        """
        def test_plain():
            assert True

        def test_needs_the_plugin(mdnotes_server):
            pass
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:mdnotes")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*fixture 'mdnotes_server' not found*"])


def test_a_fixture_that_cannot_work_fails_only_its_own_test(pytester):
    pytester.makepyfile(
        """
        import sys

        import pytest

        @pytest.fixture
        def responses_missing(monkeypatch):
            monkeypatch.setitem(sys.modules, "responses", None)

        def test_unaffected():
            assert True

        def test_mock_without_responses(responses_missing, mdnotes_responses):
            pass

        @pytest.mark.mdnotes_server("positional")
        def test_bad_marker(mdnotes_server):
            pass
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=2)
    result.stdout.fnmatch_lines(["*pip install responses*", "*keyword arguments only*"])


def test_entry_point_names_the_plugin_module():
    entry_points = importlib.metadata.entry_points()
    selected = (
        entry_points.select(group="pytest11") if hasattr(entry_points, "select") else entry_points.get("pytest11", [])
    )
    mdnotes = [entry for entry in selected if entry.name == "mdnotes"]
    assert [entry.value for entry in mdnotes] == ["mdnotesropcgwithoutauthscopes.testing.pytest_plugin"]


def test_loading_the_plugin_imports_neither_the_server_nor_requests_nor_responses():
    # A fresh interpreter: in this one everything is imported already.
    script = textwrap.dedent(
        """
        import sys
        import pytest
        import mdnotesropcgwithoutauthscopes
        before = set(sys.modules)
        import mdnotesropcgwithoutauthscopes.testing.pytest_plugin
        print(sorted(set(sys.modules) - before))
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    # What the package root imports is its own business; the plugin adds only itself and its package.
    assert result.stdout.strip() == str(
        ["mdnotesropcgwithoutauthscopes.testing", "mdnotesropcgwithoutauthscopes.testing.pytest_plugin"]
    )
