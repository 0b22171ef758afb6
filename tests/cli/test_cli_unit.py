"""The command line's parts that need no server: parsing, settings, paths, formatting, exit codes."""

import hashlib
import io
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from mdnotesropcgwithoutauthscopes import cli
from mdnotesropcgwithoutauthscopes.exceptions.api_connection_exception import APIConnectionException
from mdnotesropcgwithoutauthscopes.exceptions.api_exception import APIException
from mdnotesropcgwithoutauthscopes.exceptions.auth_validation_exception import AuthValidationException
from mdnotesropcgwithoutauthscopes.exceptions.insecure_transport_exception import InsecureTransportException
from mdnotesropcgwithoutauthscopes.exceptions.o_auth_provider_exception import OAuthProviderException
from mdnotesropcgwithoutauthscopes.http.auth.token_store import TokenStoreError
from mdnotesropcgwithoutauthscopes.http.http_request import HttpRequest
from mdnotesropcgwithoutauthscopes.http.http_response import HttpResponse
from mdnotesropcgwithoutauthscopes.models.o_auth_token import OAuthToken

ENV_NAMES = (
    "MDNOTES_BASE_URI",
    "MDNOTES_CLIENT_ID",
    "MDNOTES_CLIENT_SECRET",
    "MDNOTES_USERNAME",
    "MDNOTES_PASSWORD",
    "MDNOTES_TOKEN_STORE",
)
COMMANDS = ("login", "status", "user", "token", "logout")
BASE = "http://127.0.0.1:1/oauth2/non-auth-server"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)


def parse(*argv):
    return cli.build_parser().parse_args(list(argv))


def settings(**changes):
    values = dict(
        base_uri=BASE,
        client_id="cid",
        client_secret="CLIENT-SECRET",
        username="alice@example.com",
        token_store=Path("/tmp/x/tokens.sqlite3"),
        timeout=30.0,
    )
    values.update(changes)
    return cli.Settings(**values)


def response(status, body, url=BASE + "/token", headers=None):
    return HttpResponse(status, None, headers or {}, json.dumps(body), HttpRequest("POST", url))


# ---------------------------------------------------------------------------------------- import


def test_importing_the_cli_loads_nothing_beyond_the_package_root_and_the_standard_library():
    code = (
        "import sys, mdnotesropcgwithoutauthscopes\n"
        "before = set(sys.modules)\n"
        "import mdnotesropcgwithoutauthscopes.cli\n"
        "print('\\n'.join(sorted(set(sys.modules) - before)))\n"
    )
    new = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert "mdnotesropcgwithoutauthscopes.cli" in new
    third_party = [m for m in new if m.split(".")[0] in ("requests", "urllib3", "jsonpickle", "dateutil")]
    sdk = [
        m
        for m in new
        if m.startswith("mdnotesropcgwithoutauthscopes.")
        and m != "mdnotesropcgwithoutauthscopes.cli"
        and not m.startswith("mdnotesropcgwithoutauthscopes.cli.")
    ]
    assert (third_party, sdk) == ([], [])


# ---------------------------------------------------------------------------------------- parsing


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command, capsys):
    assert cli.main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: mdnotes {command}")
    assert "--base-uri" in out and "Exit status" in out


def test_top_level_help_lists_every_command_and_exit_code(capsys):
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in COMMANDS:
        assert f"    {command} " in out
    for code in ("0 success", "1 API error", "2 usage error", "3 authentication failed"):
        assert code in out


def test_no_command_is_a_usage_error(capsys):
    assert cli.main([]) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith("mdnotes: error: choose a command") and err.count("\n") == 1


@pytest.mark.parametrize(
    "argv",
    [
        ["login", "--password", "hunter2-SECRET"],
        ["login", "--password=hunter2-SECRET"],
        ["login", "-p", "hunter2-SECRET"],
        ["status", "--password", "hunter2-SECRET"],
        ["--password", "hunter2-SECRET", "login"],
    ],
)
def test_the_password_is_never_an_argument_and_a_stray_one_is_not_echoed(argv, capsys):
    assert cli.main(argv) == cli.EXIT_USAGE
    captured = capsys.readouterr()
    assert "hunter2-SECRET" not in captured.err + captured.out
    assert captured.err.startswith("mdnotes: error: the password is never an argument: ")
    assert captured.err.count("\n") == 1


@pytest.mark.parametrize(
    "argv, message",
    [
        (["status", "--pass", "hunter2-SECRET"], "unrecognized arguments: --pass (see 'mdnotes --help')"),
        (["status", "--x=hunter2-SECRET"], "unrecognized arguments: --x (see 'mdnotes --help')"),
        (["hunter2-SECRET"], "unknown command: choose login, status, user, token or logout (see 'mdnotes --help')"),
        (["status", "hunter2-SECRET"], "unrecognized arguments: (words that are not options) (see 'mdnotes --help')"),
    ],
)
def test_usage_errors_do_not_echo_stray_words(argv, message, capsys):
    assert cli.main(argv) == cli.EXIT_USAGE
    assert capsys.readouterr().err == f"mdnotes: error: {message}\n"


def test_password_stdin_is_not_reachable_by_abbreviation():
    with pytest.raises(cli.CommandError):
        parse("login", "--password-std")


def test_settings_may_come_before_or_after_the_command():
    before = parse("--client-id", "a", "-u", "b", "--timeout", "5", "status", "--json")
    after = parse("status", "--client-id", "a", "--username", "b", "--timeout", "5", "--json")
    for args in (before, after):
        assert (args.command, args.client_id, args.username, args.timeout, args.json) == ("status", "a", "b", 5.0, True)


def test_a_setting_after_the_command_wins_over_one_before_it():
    assert parse("--client-id", "before", "token", "--client-id", "after").client_id == "after"


@pytest.mark.parametrize("value", ["0", "-1", "x", "inf"])
def test_timeout_must_be_a_positive_number(value, capsys):
    assert cli.main(["status", "--timeout", value]) == cli.EXIT_USAGE
    assert "--timeout" in capsys.readouterr().err


def test_version(capsys):
    from mdnotesropcgwithoutauthscopes import __version__

    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"mdnotes {__version__}"


# --------------------------------------------------------------------------------------- settings


def test_environment_fills_settings_and_flags_win():
    environ = {
        "MDNOTES_BASE_URI": "https://env.example/api",
        "MDNOTES_CLIENT_ID": "env-id",
        "MDNOTES_CLIENT_SECRET": "env-secret",
        "MDNOTES_USERNAME": "env-user",
        "MDNOTES_TOKEN_STORE": "/env/tokens.db",
    }
    from_env = cli.resolve_settings(parse("status"), environ)
    assert from_env == cli.Settings(
        "https://env.example/api", "env-id", "env-secret", "env-user", Path("/env/tokens.db"), cli.DEFAULT_TIMEOUT
    )
    args = parse(
        "status",
        "--base-uri",
        "https://flag.example/api",
        "--client-id",
        "flag-id",
        "--client-secret",
        "flag-secret",
        "-u",
        "flag-user",
        "--token-store",
        "/flag/tokens.db",
    )
    assert cli.resolve_settings(args, environ) == cli.Settings(
        "https://flag.example/api", "flag-id", "flag-secret", "flag-user", Path("/flag/tokens.db"), cli.DEFAULT_TIMEOUT
    )


def test_base_uri_and_client_secret_are_optional():
    resolved = cli.resolve_settings(parse("status"), {"MDNOTES_CLIENT_ID": "id", "MDNOTES_USERNAME": "u"})
    assert (resolved.base_uri, resolved.client_secret) == (None, None)


def test_the_client_secret_is_not_in_the_settings_repr():
    assert "CLIENT-SECRET" not in repr(settings())


@pytest.mark.parametrize(
    "environ, missing",
    [
        ({}, ["--client-id or $MDNOTES_CLIENT_ID", "--username or $MDNOTES_USERNAME"]),
        ({"MDNOTES_USERNAME": "u"}, ["--client-id or $MDNOTES_CLIENT_ID"]),
        ({"MDNOTES_CLIENT_ID": "c", "MDNOTES_USERNAME": ""}, ["--username or $MDNOTES_USERNAME"]),
    ],
)
def test_a_missing_client_id_or_username_is_a_usage_error_naming_flag_and_variable(environ, missing):
    with pytest.raises(cli.CommandError) as caught:
        cli.resolve_settings(parse("token"), environ)
    assert caught.value.exit_code == cli.EXIT_USAGE
    assert caught.value.message == "missing setting: give " + " and ".join(missing)


def test_a_base_uri_without_a_scheme_is_a_usage_error():
    with pytest.raises(cli.CommandError) as caught:
        cli.resolve_settings(
            parse("status", "--base-uri", "localhost:3000"), {"MDNOTES_CLIENT_ID": "c", "MDNOTES_USERNAME": "u"}
        )
    assert caught.value.exit_code == cli.EXIT_USAGE and "--base-uri or $MDNOTES_BASE_URI" in caught.value.message


def test_main_reports_missing_settings_on_one_line(capsys):
    assert cli.main(["status"]) == cli.EXIT_USAGE
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "mdnotes: error: missing setting: give --client-id or $MDNOTES_CLIENT_ID and --username or $MDNOTES_USERNAME\n"
    )


# ------------------------------------------------------------------------------------------ paths

HOME = Path("/home/alice")


@pytest.mark.parametrize(
    "environ, platform, expected",
    [
        ({}, "linux", HOME / ".local/share/mdnotes/tokens.sqlite3"),
        ({"XDG_DATA_HOME": "/data"}, "linux", Path("/data/mdnotes/tokens.sqlite3")),
        ({"XDG_DATA_HOME": "relative/data"}, "linux", HOME / ".local/share/mdnotes/tokens.sqlite3"),
        ({"XDG_DATA_HOME": ""}, "freebsd13", HOME / ".local/share/mdnotes/tokens.sqlite3"),
        ({}, "darwin", HOME / "Library/Application Support/mdnotes/tokens.sqlite3"),
        ({"XDG_DATA_HOME": "/data"}, "darwin", Path("/data/mdnotes/tokens.sqlite3")),
        ({"LOCALAPPDATA": "/appdata/local"}, "win32", Path("/appdata/local/mdnotes/tokens.sqlite3")),
        ({}, "win32", HOME / "AppData/Local/mdnotes/tokens.sqlite3"),
        ({"MDNOTES_TOKEN_STORE": "/custom/t.db", "XDG_DATA_HOME": "/data"}, "linux", Path("/custom/t.db")),
        ({"MDNOTES_TOKEN_STORE": "~/t.db"}, "linux", Path.home() / "t.db"),
    ],
)
def test_default_token_store_path(environ, platform, expected):
    assert cli.default_token_store_path(environ, platform=platform, home=HOME) == expected


def test_default_path_uses_the_home_directory(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cli.default_token_store_path({}, platform="linux") == tmp_path / ".local/share/mdnotes/tokens.sqlite3"


def test_the_token_store_flag_wins_and_expands_the_home_directory():
    environ = {"MDNOTES_CLIENT_ID": "c", "MDNOTES_USERNAME": "u", "MDNOTES_TOKEN_STORE": "/env.db"}
    resolved = cli.resolve_settings(parse("token", "--token-store", "~/flag.db"), environ)
    assert resolved.token_store == Path.home() / "flag.db"


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_private_directories_are_created_0700_whatever_the_umask(tmp_path):
    target = tmp_path / "a" / "b" / "mdnotes"
    old = os.umask(0o022)
    try:
        cli.commands.make_private_directory(target)
    finally:
        os.umask(old)
    for directory in (tmp_path / "a", tmp_path / "a" / "b", target):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    cli.commands.make_private_directory(target)  # existing: nothing to do, no error


# ------------------------------------------------------------------------------------- formatting


def test_fingerprint_is_the_start_of_the_sha256_and_reveals_nothing():
    token = "ACCESS-TOKEN-SECRET"
    assert cli.fingerprint(token) == "sha256:" + hashlib.sha256(token.encode()).hexdigest()[:12]
    assert len(cli.fingerprint(token)) == len("sha256:") + 12
    assert cli.fingerprint(token) != cli.fingerprint(token + "x")


@pytest.mark.parametrize(
    "seconds, text",
    [(0, "0 s"), (42.9, "42 s"), (185, "3 min 5 s"), (7200, "2 h 0 min"), (93784, "1 d 2 h"), (-61, "1 min 1 s")],
)
def test_format_duration(seconds, text):
    assert cli.format_duration(seconds) == text


def test_format_time_is_utc():
    assert cli.format_time(0) == "1970-01-01 00:00:00 UTC"


def test_format_fields_aligns_values_and_keeps_falsy_ones():
    text = cli.format_fields({"app": "MdNotes", "notes": 0, "php_version": "", "extra": {"a": 1}, "gone": None})
    assert text.splitlines() == [
        "app:         MdNotes",
        "notes:       0",
        "php_version:",
        'extra:       {"a": 1}',
        "gone:        -",
    ]


def token(**changes):
    values = dict(
        access_token="ACCESS-TOKEN-SECRET",
        token_type="Bearer",
        expires_in=3600,
        expiry=1_000_000 + 3600,
        refresh_token="REFRESH-TOKEN-SECRET",
    )
    values.update(changes)
    return OAuthToken(**values)


def test_token_details_hide_the_tokens_unless_shown():
    details = cli.token_details(token(), settings(), BASE, now=1_000_000 + 600, show=False)
    assert details == {
        "username": "alice@example.com",
        "base_uri": BASE,
        "token_type": "Bearer",
        "expires_at": "1970-01-12T14:46:40Z",
        "expiry": 1_003_600,
        "seconds_left": 3000,
        "expired": False,
        "has_refresh_token": True,
        "fingerprint": cli.fingerprint("ACCESS-TOKEN-SECRET"),
        "token_store": "/tmp/x/tokens.sqlite3",
    }
    text = cli.format_token(details, token(), now=1_000_000 + 600)
    assert "SECRET" not in json.dumps(details) + text
    assert "Expires:       1970-01-12 14:46:40 UTC (in 50 min 0 s)" in text.splitlines()
    shown = cli.token_details(token(), settings(), BASE, now=0, show=True)
    assert shown["access_token"] == "ACCESS-TOKEN-SECRET"
    assert "REFRESH-TOKEN-SECRET" not in json.dumps(shown) + cli.format_token(shown, token(), now=0)
    assert cli.format_token(shown, token(), now=0).splitlines()[-1] == "Access token:  ACCESS-TOKEN-SECRET"


def test_token_details_of_an_expired_token_and_of_one_without_expiry():
    expired = cli.token_details(token(refresh_token=None), settings(), BASE, now=1_003_605, show=False)
    assert (expired["seconds_left"], expired["expired"], expired["has_refresh_token"]) == (-5, True, False)
    text = cli.format_token(expired, token(refresh_token=None), now=1_003_605)
    assert "(5 s ago)" in text and "Refresh token: no (log in again when it expires)" in text
    endless = cli.token_details(token(expiry=None, expires_in=None), settings(), BASE, now=0, show=False)
    assert (endless["expires_at"], endless["seconds_left"], endless["expired"]) == (None, None, False)
    assert "Expires:       unknown" in cli.format_token(endless, token(expiry=None), now=0)


# ----------------------------------------------------------------------------------- error mapping


def describe(exc, logging_in=False):
    return cli.describe_failure(exc, settings(), BASE, logging_in=logging_in)


def test_wrong_password_at_login_is_an_authentication_failure():
    refusal = OAuthProviderException(
        "OAuth 2 provider returned an error.",
        response(400, {"error": "invalid_grant", "error_description": "The username or password is wrong"}),
    )
    failure = describe(refusal, logging_in=True)
    assert failure.exit_code == cli.EXIT_AUTH
    assert failure.message == (
        "login refused for alice@example.com: wrong username or password "
        "(invalid_grant: The username or password is wrong)"
    )


def test_a_refused_refresh_asks_to_log_in_again():
    refusal = OAuthProviderException(
        "OAuth 2 provider returned an error.",
        response(400, {"error": "invalid_grant", "error_description": "The refresh token was already used"}),
    )
    failure = describe(refusal)
    assert failure.exit_code == cli.EXIT_AUTH
    assert failure.message.endswith("(invalid_grant: The refresh token was already used); run 'mdnotes login'")


@pytest.mark.parametrize(
    ("body", "headers"), [({"error": "invalid_client"}, None), ({}, {"WWW-Authenticate": 'Basic realm="token"'})]
)
def test_a_refused_client_is_an_authentication_failure(body, headers):
    refusal = OAuthProviderException(
        "OAuth 2 provider says client authentication failed.", response(401, body, headers=headers)
    )
    failure = describe(refusal, logging_in=True)
    assert failure.exit_code == cli.EXIT_AUTH and "client id or client secret" in failure.message


def test_a_401_naming_no_error_at_login_is_a_wrong_password_as_the_sdk_reads_it():
    refusal = OAuthProviderException(
        "OAuth 2 provider says client authentication failed.",
        response(401, {"detail": "Incorrect username or password"}, headers={"WWW-Authenticate": "Bearer"}),
    )
    failure = describe(refusal, logging_in=True)
    assert failure.exit_code == cli.EXIT_AUTH
    assert failure.message.startswith("login refused for alice@example.com: wrong username or password")


def test_a_token_endpoint_that_is_unavailable_is_an_api_error():
    refusal = OAuthProviderException(
        "OAuth 2 provider returned an error.", response(503, {"error": "temporarily_unavailable"})
    )
    failure = describe(refusal, logging_in=True)
    assert (failure.exit_code, failure.message) == (
        cli.EXIT_API_ERROR,
        "the token request failed (temporarily_unavailable)",
    )


def test_a_server_that_is_down_is_an_api_error():
    failure = describe(APIConnectionException("Connection failed: NewConnectionError", BASE + "/status"))
    assert failure.exit_code == cli.EXIT_API_ERROR
    assert (
        failure.message
        == f"cannot reach the MdNotes server at {BASE}: Connection failed: NewConnectionError [{BASE}/status]"
    )


def test_no_usable_token_is_an_authentication_failure():
    failure = describe(AuthValidationException("The OAuth token has expired and the SDK cannot obtain a new one"))
    assert failure.exit_code == cli.EXIT_AUTH and failure.message.endswith("; run 'mdnotes login'")
    refused = describe(AuthValidationException("The OAuth token was refused", response(401, {}, BASE + "/user")))
    assert (refused.exit_code, refused.message) == (
        cli.EXIT_AUTH,
        "the server refused the stored token for alice@example.com and it cannot be renewed; run 'mdnotes login'",
    )


def test_a_token_refused_by_the_api_is_an_authentication_failure_and_other_errors_are_api_errors():
    assert (
        describe(APIException("HTTP Response Not OK", response(401, {}, BASE + "/status"))).exit_code == cli.EXIT_AUTH
    )
    server_error = describe(APIException("HTTP Response Not OK", response(500, {}, BASE + "/status")))
    assert server_error.exit_code == cli.EXIT_API_ERROR
    assert server_error.message == f"the API call failed: HTTP Response Not OK (HTTP 500 from {BASE}/status)"


def test_plain_http_to_another_host_is_a_usage_error():
    failure = describe(InsecureTransportException("http://example.com/api/token"))
    assert failure.exit_code == cli.EXIT_USAGE and "use an https:// base URI" in failure.message


def test_a_token_store_failure_is_an_api_error_naming_the_file():
    failure = describe(TokenStoreError("database is locked"))
    assert (failure.exit_code, failure.message) == (
        cli.EXIT_API_ERROR,
        "the token store /tmp/x/tokens.sqlite3 cannot be used: database is locked",
    )


# ------------------------------------------------------------------------------------ main's frame


def _handler_raising(monkeypatch, exc):
    def handler(args, context):
        raise exc

    monkeypatch.setattr(cli.commands, "status", handler)
    monkeypatch.setenv("MDNOTES_CLIENT_ID", "c")
    monkeypatch.setenv("MDNOTES_USERNAME", "u")


def test_ctrl_c_exits_130_quietly(monkeypatch, capsys):
    _handler_raising(monkeypatch, KeyboardInterrupt())
    assert cli.main(["--base-uri", BASE, "status"]) == cli.EXIT_INTERRUPTED
    assert capsys.readouterr() == ("", "")


def test_an_unexpected_error_is_one_line_without_its_message(monkeypatch, capsys):
    _handler_raising(monkeypatch, RuntimeError("could hold a SECRET"))
    assert cli.main(["--base-uri", BASE, "status"]) == cli.EXIT_API_ERROR
    captured = capsys.readouterr()
    assert captured.err == "mdnotes: error: unexpected RuntimeError; run again with --verbose for details\n"
    with pytest.raises(RuntimeError):
        cli.main(["--base-uri", BASE, "status", "--verbose"])


def test_sdk_failures_raised_by_a_command_become_one_line(monkeypatch, capsys):
    _handler_raising(monkeypatch, APIConnectionException("Connection failed: ConnectTimeout", BASE + "/status"))
    assert cli.main(["--base-uri", BASE, "status"]) == cli.EXIT_API_ERROR
    captured = capsys.readouterr()
    assert captured.err == (
        f"mdnotes: error: cannot reach the MdNotes server at {BASE}: Connection failed: ConnectTimeout [{BASE}/status]\n"
    )


def test_the_sdk_logger_is_left_as_it_was(monkeypatch):
    import logging

    _handler_raising(monkeypatch, KeyboardInterrupt())
    logger = logging.getLogger("mdnotesropcgwithoutauthscopes")
    before = (logger.level, list(logger.handlers))
    cli.main(["status", "-v"])
    assert (logger.level, list(logger.handlers)) == before


# ------------------------------------------------------------------------------------- passwords


class _Args:
    def __init__(self, password_stdin=False):
        self.password_stdin = password_stdin


def context(environ=None):
    return cli.Context(settings(), environ or {}, io.StringIO())


def test_password_from_stdin_keeps_spaces_and_drops_the_line_end(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(" pa ss \r\nsecond line\n"))
    assert cli.commands.read_password(_Args(password_stdin=True), context({"MDNOTES_PASSWORD": "env"})) == " pa ss "


def test_password_from_the_environment_before_the_prompt(monkeypatch):
    monkeypatch.setattr("getpass.getpass", lambda prompt: pytest.fail("must not prompt"))
    assert cli.commands.read_password(_Args(), context({"MDNOTES_PASSWORD": "from env"})) == "from env"


def test_without_a_terminal_the_first_line_of_stdin_is_read(monkeypatch):
    monkeypatch.setattr(cli.commands, "has_terminal", lambda: False)
    monkeypatch.setattr("getpass.getpass", lambda prompt: pytest.fail("must not prompt"))
    monkeypatch.setattr(sys, "stdin", io.StringIO("piped\n"))
    assert cli.commands.read_password(_Args(), context()) == "piped"


def test_password_prompt_names_the_user(monkeypatch):
    monkeypatch.setattr(cli.commands, "has_terminal", lambda: True)
    prompts = []
    monkeypatch.setattr("getpass.getpass", lambda prompt: prompts.append(prompt) or "typed")
    assert cli.commands.read_password(_Args(), context()) == "typed"
    assert prompts == ["Password for alice@example.com: "]


@pytest.mark.parametrize("typed", ["", EOFError()])
def test_no_password_is_a_usage_error(monkeypatch, typed):
    monkeypatch.setattr(cli.commands, "has_terminal", lambda: True)

    def getpass(prompt):
        if isinstance(typed, BaseException):
            raise typed
        return typed

    monkeypatch.setattr("getpass.getpass", getpass)
    with pytest.raises(cli.CommandError) as caught:
        cli.commands.read_password(_Args(), context())
    assert caught.value.exit_code == cli.EXIT_USAGE and "$MDNOTES_PASSWORD" in caught.value.message


# ------------------------------------------------------------------------------------- base URI


@pytest.mark.parametrize(
    "given, normal",
    [
        ("http://LOCALHOST:3000/x/", "http://localhost:3000/x"),
        ("HTTP://localhost:3000/x", "http://localhost:3000/x"),
        ("http://localhost:80/x", "http://localhost/x"),
        ("https://Example.COM:443/api/", "https://example.com/api"),
        ("https://example.com:8443/API", "https://example.com:8443/API"),  # the path keeps its case
        ("http://localhost/", "http://localhost"),
        ("http://[::1]:80/x/", "http://[::1]/x"),
        ("http://127.0.0.1:3000/x", "http://127.0.0.1:3000/x"),  # another host than localhost
    ],
)
def test_spellings_of_one_server_are_one_base_uri(given, normal):
    assert cli.normalize_base_uri(given) == normal
    resolved = cli.resolve_settings(
        parse("status", "--base-uri", given), {"MDNOTES_CLIENT_ID": "c", "MDNOTES_USERNAME": "u"}
    )
    assert resolved.base_uri == normal


@pytest.mark.parametrize(
    "given",
    [
        "http://carol:PW-SECRET@host/x",
        "https://carol:PW-SECRET@host:8443",
        "http://PW-SECRET@host/",
        "ftp://a:PW-SECRET@h/",
    ],
)
def test_a_base_uri_with_user_info_is_a_usage_error_that_does_not_repeat_it(given, capsys):
    environ = {"MDNOTES_CLIENT_ID": "c", "MDNOTES_USERNAME": "u"}
    with pytest.raises(cli.CommandError) as caught:
        cli.resolve_settings(parse("status", "--base-uri", given), environ)
    assert caught.value.exit_code == cli.EXIT_USAGE
    assert "must not contain user info (user:password@)" in caught.value.message
    assert "PW-SECRET" not in caught.value.message


@pytest.mark.parametrize("given", ["http://", "http://host:port/x", "http:///x"])
def test_a_base_uri_without_a_usable_host_or_port_is_a_usage_error(given):
    with pytest.raises(cli.CommandError) as caught:
        cli.resolve_settings(parse("status", "--base-uri", given), {"MDNOTES_CLIENT_ID": "c", "MDNOTES_USERNAME": "u"})
    assert caught.value.exit_code == cli.EXIT_USAGE


@pytest.mark.parametrize(
    "argv, message",
    [
        (["login", "--password-stdin=SECRET-x"], "argument --password-stdin takes no value"),
        (["login", "-vpSECRET-x"], "argument -v/--verbose takes no value"),
        (["status", "-xSECRET-x"], "unrecognized arguments: -x"),
        (["status", "--timeout", "SECRET-x"], "argument --timeout: not a number of seconds"),
    ],
)
def test_argparse_messages_name_the_option_not_the_value(argv, message, capsys):
    assert cli.main(argv) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith(f"mdnotes: error: {message} (see 'mdnotes ")
    assert "SECRET-x" not in err


def test_scrub_removes_values_and_stray_words_but_keeps_option_names():
    message = "argument --x: 'abc-SECRET' and stray-SECRET and -yvalue-SECRET (see 'mdnotes --help')"
    argv = ["--x=abc-SECRET", "stray-SECRET", "-yvalue-SECRET", "status"]
    assert cli.parsing.scrub(message, argv) == "argument --x: '***' and *** and -y*** (see 'mdnotes --help')"
