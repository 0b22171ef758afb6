"""The real ``mdnotes`` command against the reference server: the whole cycle and every error path."""

import hashlib
import json
import os
import re
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mdnotesropcgwithoutauthscopes.http.auth.o_auth_2 import ResourceOwnerAuthCredentials
from mdnotesropcgwithoutauthscopes.http.auth.token_store import SQLiteTokenStore
from mdnotesropcgwithoutauthscopes.mdnotesropcgwithoutauthscopes_client import MdnotesropcgwithoutauthscopesClient
from tests.helpers.cli import COMMAND_TIMEOUT, DEMO, SCRIPT, Mdnotes, assert_one_error_line, settings_for

USER = DEMO["username"]
ROOT = Path(__file__).resolve().parents[2]


def login(mdnotes, *args, **env):
    result = mdnotes("login", *args, **dict({"MDNOTES_PASSWORD": DEMO["password"]}, **env))
    assert (result.returncode, result.stderr) == (0, ""), result
    return result


def token_json(mdnotes, *args):
    result = mdnotes("token", "--json", *args)
    assert result.returncode == 0, result
    return json.loads(result.stdout)


def field(text, name):
    """The value of a ``name: value`` line of the human output."""
    match = re.search(rf"^{re.escape(name)}:\s+(.*)$", text, re.MULTILINE)
    assert match, f"no {name!r} line in:\n{text}"
    return match.group(1)


def stored_token(server, path):
    """The token the command keeps for the demo user, read with the SDK from the same store file."""
    with SQLiteTokenStore(path) as store:
        credentials = ResourceOwnerAuthCredentials(
            o_auth_client_id=DEMO["client_id"], o_auth_username=USER, o_auth_token_store=store
        )
        with MdnotesropcgwithoutauthscopesClient(
            base_uri=server.base_uri, resource_owner_auth_credentials=credentials
        ) as client:
            return store.load(client.http_ropcg.token_store_key)


# ------------------------------------------------------------------------------------- the cycle


def test_login_status_user_token_expiry_refresh_logout_in_a_private_store(start, tmp_path):
    server = start(token_lifetime=2)
    (tmp_path / "home").mkdir()
    mdnotes = Mdnotes(tmp_path / "home", settings_for(server))

    logged_in = login(mdnotes)
    assert logged_in.stdout.splitlines()[0] == f"Logged in as {USER} at {server.base_uri}."
    assert logged_in.stdout.splitlines()[1].endswith(f"; it is kept in {mdnotes.store_path}")
    assert server.stats()["password_grants"] == 1
    directory = mdnotes.store_path.parent  # the default place: $XDG_DATA_HOME/mdnotes
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE(mdnotes.store_path.stat().st_mode) == 0o600
    for path in directory.iterdir():  # journal files too
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path

    status = mdnotes("status")
    assert (status.returncode, status.stderr) == (0, ""), status
    assert (field(status.stdout, "app"), field(status.stdout, "status"), field(status.stdout, "notes")) == (
        "MdNotes",
        "ok",
        "0",
    )
    user = mdnotes("user")
    assert (user.returncode, field(user.stdout, "email"), field(user.stdout, "id")) == (0, USER, "1"), user

    first = token_json(mdnotes)
    assert first["username"] == USER and first["base_uri"] == server.base_uri
    assert first["has_refresh_token"] is True and first["seconds_left"] <= 2
    before = server.stats()
    time.sleep(max(0.0, first["expiry"] - time.time()) + 0.2)  # the stored token has now expired
    assert token_json(mdnotes)["expired"] is True

    again = mdnotes("status", "--json")
    assert again.returncode == 0, again
    assert json.loads(again.stdout)["status"] == "ok"
    after = server.stats()
    assert after["refresh_grants"] == before["refresh_grants"] + 1  # renewed with the refresh token...
    assert after["password_grants"] == 1  # ...never with the password, which it does not have
    renewed = token_json(mdnotes)
    assert renewed["fingerprint"] != first["fingerprint"] and renewed["expiry"] > first["expiry"]

    logged_out = mdnotes("logout")
    assert logged_out.returncode == 0
    assert logged_out.stdout == f"Logged out: forgot the token of {USER} at {server.base_uri}.\n"
    not_logged_in = f"not logged in as {USER} at {server.base_uri}; run 'mdnotes login'"
    assert_one_error_line(mdnotes("status"), code=3, starts=not_logged_in)
    assert_one_error_line(mdnotes("token"), code=3, starts=not_logged_in)
    assert mdnotes("logout").stdout == f"Not logged in as {USER} at {server.base_uri}; nothing to forget.\n"
    assert server.stats()["password_grants"] == 1


def test_json_output_and_token_shown_only_with_show(mdnotes):
    outputs = [login(mdnotes).output]
    status = mdnotes("status", "--json")
    user = mdnotes("user", "--json")
    outputs += [status.output, user.output]
    assert (json.loads(status.stdout)["app"], json.loads(status.stdout)["notes"]) == ("MdNotes", 0)
    assert json.loads(user.stdout) == {
        "id": 1,
        "name": "Demo User",
        "email": USER,
        "created_at": json.loads(user.stdout)["created_at"],
        "updated_at": json.loads(user.stdout)["updated_at"],
    }
    shown = token_json(mdnotes, "--show")
    assert 3590 <= shown["seconds_left"] <= 3600 and shown["token_store"] == str(mdnotes.store_path)
    access_token = shown["access_token"]
    assert shown["fingerprint"] == "sha256:" + hashlib.sha256(access_token.encode()).hexdigest()[:12]
    plain = mdnotes("token")
    assert plain.returncode == 0
    assert field(plain.stdout, "Fingerprint") == shown["fingerprint"]
    assert field(plain.stdout, "Refresh token").startswith("yes")
    as_json = token_json(mdnotes)
    assert set(shown) - set(as_json) == {"access_token"}
    assert "access_token" not in as_json and as_json["fingerprint"] == shown["fingerprint"]
    outputs += [plain.output, json.dumps(as_json)]
    assert not [output for output in outputs if access_token in output]
    assert field(mdnotes("token", "--show").stdout, "Access token") == access_token


# ---------------------------------------------------------------------------------- error paths


def test_wrong_password(mdnotes, server):
    result = mdnotes("login", MDNOTES_PASSWORD="wrong-PASSWORD-guess")
    assert_one_error_line(result, code=3, starts=f"login refused for {USER}: wrong username or password (invalid_grant")
    assert "wrong-PASSWORD-guess" not in result.output
    assert server.stats()["failed_token_requests"] == 1  # a typo is sent once
    assert mdnotes("token").returncode == 3  # nothing was stored


def test_wrong_client_secret(mdnotes):
    result = mdnotes("login", MDNOTES_PASSWORD=DEMO["password"], MDNOTES_CLIENT_SECRET="wrong-SECRET")
    assert_one_error_line(result, code=3, starts="the server refused the client id or client secret (invalid_client")
    assert "wrong-SECRET" not in result.output


def test_server_down(start, mdnotes):
    gone = start()
    gone.stop()
    assert_one_error_line(
        mdnotes("login", MDNOTES_PASSWORD=DEMO["password"], MDNOTES_BASE_URI=gone.base_uri),
        code=1,
        starts=f"cannot reach the MdNotes server at {gone.base_uri}: ",
    )


def test_server_that_goes_down_after_login(mdnotes, server):
    login(mdnotes)
    server.stop()
    for command in ("status", "user"):
        assert_one_error_line(
            mdnotes(command), code=1, starts=f"cannot reach the MdNotes server at {server.base_uri}: "
        )
    assert mdnotes("token").returncode == 0  # the stored token is still there, nothing is sent


def test_an_api_error_answer(mdnotes, server):
    login(mdnotes)
    server.set_faults(status_503_count=1)
    result = mdnotes("status")
    assert_one_error_line(result, code=1, starts="the API call failed: ")
    assert f"(HTTP 503 from {server.base_uri}/status)" in result.stderr


def test_revoked_access_token_is_renewed_with_the_refresh_token(mdnotes, server):
    login(mdnotes)
    first = token_json(mdnotes)["fingerprint"]
    assert server.revoke_all_tokens() == 1
    result = mdnotes("user")
    assert result.returncode == 0, result
    assert (server.stats()["refresh_grants"], server.stats()["password_grants"]) == (1, 1)
    assert token_json(mdnotes)["fingerprint"] != first


def test_revoked_token_whose_refresh_is_refused(mdnotes, server):
    login(mdnotes)
    # Someone else uses the stored refresh token first (a copy of the store, a leak): the server
    # rotates it, so the one in the store is spent; then every access token is revoked.
    token = stored_token(server, mdnotes.store_path)
    credentials = ResourceOwnerAuthCredentials(
        o_auth_client_id=DEMO["client_id"], o_auth_client_secret=DEMO["client_secret"], o_auth_token=token
    )
    with MdnotesropcgwithoutauthscopesClient(
        base_uri=server.base_uri, resource_owner_auth_credentials=credentials
    ) as c:
        c.http_ropcg.refresh_token()
    server.revoke_all_tokens()

    result = mdnotes("status")
    assert_one_error_line(
        result, code=3, starts=f"the stored token for {USER} was refused and cannot be renewed (invalid_grant"
    )
    assert result.stderr.endswith("; run 'mdnotes login'\n")
    assert server.stats()["password_grants"] == 1  # no password, so no sign-in behind the user's back

    # With the password in the environment, the SDK signs in again by itself and saves the token.
    assert mdnotes("status", MDNOTES_PASSWORD=DEMO["password"]).returncode == 0
    assert server.stats()["password_grants"] == 2
    assert mdnotes("status").returncode == 0  # and the stored token works without it


def test_not_logged_in_creates_nothing(mdnotes):
    for command in ("user", "token"):
        assert_one_error_line(mdnotes(command), code=3, starts=f"not logged in as {USER} at ")
    assert mdnotes("logout").returncode == 0
    assert not mdnotes.data_home.exists()


def test_with_the_password_in_the_environment_status_signs_in_by_itself(mdnotes, server):
    result = mdnotes("status", MDNOTES_PASSWORD=DEMO["password"])
    assert result.returncode == 0, result
    assert server.stats()["password_grants"] == 1
    assert mdnotes("user").returncode == 0  # the token it got was stored
    assert server.stats()["password_grants"] == 1


@pytest.mark.parametrize(
    "missing, named",
    [
        ("MDNOTES_CLIENT_ID", "--client-id or $MDNOTES_CLIENT_ID"),
        ("MDNOTES_USERNAME", "--username or $MDNOTES_USERNAME"),
    ],
)
def test_missing_settings(mdnotes, missing, named):
    result = mdnotes("login", MDNOTES_PASSWORD=DEMO["password"], **{missing: None})
    assert_one_error_line(result, code=2, starts=f"missing setting: give {named}")


def test_flags_replace_the_environment(mdnotes, server, tmp_path):
    store = tmp_path / "flag" / "store.db"
    flags = ["--base-uri", server.base_uri, "--client-id", DEMO["client_id"], "-u", USER, "--token-store", str(store)]
    unset = dict(MDNOTES_BASE_URI=None, MDNOTES_CLIENT_ID=None, MDNOTES_USERNAME=None)
    assert login(mdnotes, *flags, **unset).returncode == 0
    assert store.exists() and not mdnotes.store_path.exists()
    assert stat.S_IMODE(store.parent.stat().st_mode) == 0o700
    assert mdnotes("status", *flags, **unset).returncode == 0
    assert mdnotes("status").returncode == 3  # the default store holds nothing


def test_token_store_from_the_environment(mdnotes, tmp_path):
    path = tmp_path / "elsewhere" / "tokens.db"
    login(mdnotes, MDNOTES_TOKEN_STORE=str(path))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and not mdnotes.store_path.exists()
    assert mdnotes("user", MDNOTES_TOKEN_STORE=str(path)).returncode == 0


def test_password_from_stdin(mdnotes):
    # The flag wins over the variable.
    result = mdnotes("login", "--password-stdin", input=DEMO["password"] + "\n", MDNOTES_PASSWORD="wrong")
    assert result.returncode == 0, result


def test_without_a_terminal_login_reads_the_first_line_of_standard_input(mdnotes):
    result = mdnotes("login", input=DEMO["password"] + "\n")
    assert (result.returncode, result.stderr) == (0, ""), result
    assert_one_error_line(mdnotes("login", input=""), code=2, starts="no password given on standard input")


# ---------------------------------------------------------------------------------- a terminal

# Runs a command on a new pseudo-terminal (as its controlling terminal), relaying this process's
# standard input and output, and exits with the command's status.
_ON_A_TERMINAL = "import os, pty, sys; sys.exit(os.waitstatus_to_exitcode(pty.spawn(sys.argv[1:])))"


def on_a_terminal(mdnotes, *args, keys):
    """Run ``mdnotes ARGS`` on a terminal: type ``keys`` once the password prompt shows; return (status, screen)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MDNOTES_")}
    env.update(mdnotes.env, HOME=str(mdnotes.home), XDG_DATA_HOME=str(mdnotes.data_home))
    process = subprocess.Popen(
        [sys.executable, "-c", _ON_A_TERMINAL, sys.executable, "-m", "mdnotesropcgwithoutauthscopes", *args],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        screen = b""
        deadline = time.monotonic() + COMMAND_TIMEOUT
        while b"Password for" not in screen:
            assert time.monotonic() < deadline, f"no prompt; the terminal shows {screen!r}"
            chunk = os.read(process.stdout.fileno(), 1024)
            assert chunk, f"the command ended before prompting: {screen!r}"
            screen += chunk
        process.stdin.write(keys)
        process.stdin.close()
        screen += process.stdout.read()
        return process.wait(timeout=COMMAND_TIMEOUT), screen.decode("utf-8", "replace")
    finally:
        process.kill()
        process.wait()


def test_login_asks_for_the_password_on_the_terminal_without_echo(mdnotes):
    status, screen = on_a_terminal(mdnotes, "login", keys=DEMO["password"].encode() + b"\r")
    assert status == 0, screen
    assert f"Password for {USER}: " in screen and f"Logged in as {USER}" in screen
    assert DEMO["password"] not in screen
    assert mdnotes("status").returncode == 0


def test_ctrl_c_at_the_prompt_exits_130_quietly(mdnotes):
    status, screen = on_a_terminal(mdnotes, "login", keys=b"\x03")
    assert status == 130, screen
    assert "Traceback" not in screen and "error" not in screen


# ---------------------------------------------------------------------------- the console script


def test_the_console_script_is_declared():
    declared = re.compile(r"""\bmdnotes["']?\s*=\s*["']?mdnotesropcgwithoutauthscopes\.cli:main\b""")
    files = [ROOT / name for name in ("setup.py", "pyproject.toml") if (ROOT / name).exists()]
    assert any(declared.search(path.read_text(encoding="utf-8")) for path in files)


def test_the_console_script_runs_the_same_command(mdnotes):
    assert SCRIPT.exists(), f"{SCRIPT} is missing: reinstall the package (pip install -e .) to get the mdnotes script"
    script = Mdnotes(mdnotes.home, mdnotes.env, script=True)
    helped = script("--help")
    assert helped.returncode == 0 and helped.stdout.startswith("usage: mdnotes ")
    login(script)
    assert script("status").returncode == 0
    assert mdnotes("user").returncode == 0  # python -m and the script share the store


# ------------------------------------------------------------------- one server, several spellings


def test_spellings_of_one_server_find_the_same_login(mdnotes, server):
    login(mdnotes)
    scheme, rest = server.base_uri.split("://", 1)
    for spelling in (scheme.upper() + "://" + rest + "/", server.base_uri + "//"):
        status = mdnotes("status", "--json", MDNOTES_BASE_URI=spelling)
        assert (status.returncode, status.stderr) == (0, ""), status
        details = json.loads(mdnotes("token", "--json", MDNOTES_BASE_URI=spelling).stdout)
        assert details["base_uri"] == server.base_uri
    assert server.stats()["password_grants"] == 1  # no second sign-in: the stored token was found


def test_another_host_name_of_the_same_machine_is_another_server(mdnotes, server):
    login(mdnotes)
    other = server.base_uri.replace("127.0.0.1", "localhost")
    assert_one_error_line(
        mdnotes("token", MDNOTES_BASE_URI=other), code=3, starts=f"not logged in as {USER} at {other};"
    )


# ------------------------------------------------------------------------ secrets typed as arguments


@pytest.mark.parametrize(
    "argv",
    [
        ["-pSECRET-typed"],
        ["login", "-pSECRET-typed"],
        ["login", "--password-stdin=SECRET-typed"],
        ["login", "--password=SECRET-typed"],
        ["status", "--client-secret", "SECRET-typed", "--bogus"],
        ["status", "--bogus=SECRET-typed"],
        ["status", "-xSECRET-typed"],
        ["login", "-vpSECRET-typed"],
        ["token", "--show=SECRET-typed"],
        ["status", "--timeout", "SECRET-typed"],
        ["login", "--password-stdin", "SECRET-typed"],
        ["SECRET-typed"],
    ],
)
def test_a_secret_typed_as_an_argument_never_reaches_stderr(mdnotes, argv):
    result = mdnotes(*argv)
    assert result.returncode == 2, result
    assert "SECRET-typed" not in result.output
    assert result.stderr.startswith("mdnotes: error: ") and result.stderr.count("\n") == 1, result


@pytest.mark.parametrize("command", ["login", "status", "token", "logout"])
def test_a_base_uri_with_a_password_is_refused_without_echoing_it(mdnotes, server, command):
    with_password = server.base_uri.replace("://", "://carol:PW-in-the-URL@")
    for result in (
        mdnotes(command, "--base-uri", with_password, MDNOTES_PASSWORD=DEMO["password"]),
        mdnotes(command, MDNOTES_BASE_URI=with_password, MDNOTES_PASSWORD=DEMO["password"]),
    ):
        assert_one_error_line(result, code=2, starts="--base-uri or $MDNOTES_BASE_URI must not contain user info")
        assert "PW-in-the-URL" not in result.output and "carol" not in result.output
    assert server.stats()["password_grants"] == 0
