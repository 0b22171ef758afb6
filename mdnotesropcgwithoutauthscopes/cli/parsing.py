"""The ``mdnotes`` command line: its parser, and usage errors that never repeat what was typed."""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from typing import Any, Callable, NoReturn

from mdnotesropcgwithoutauthscopes.cli import commands
from mdnotesropcgwithoutauthscopes.cli.exits import EXIT_USAGE, PROG, CommandError
from mdnotesropcgwithoutauthscopes.cli.settings import (
    DEFAULT_TIMEOUT,
    ENV_BASE_URI,
    ENV_CLIENT_ID,
    ENV_CLIENT_SECRET,
    ENV_PASSWORD,
    ENV_TOKEN_STORE,
    ENV_USERNAME,
    default_store_for_help,
)

# argparse's messages that quote what was typed, rewritten to name only the option.
_IGNORED_VALUE = re.compile(r"argument (?P<option>\S+?): ignored explicit argument .*", re.DOTALL)
_INVALID_VALUE = re.compile(r"argument (?P<option>\S+?): invalid .*", re.DOTALL)
_OPTION_VALUE = re.compile(r"argument (?P<option>\S+?): .*", re.DOTALL)


def _option_name(word: str) -> str:
    """The option a word of the command line names, without any value glued to it."""
    if word.startswith("--"):
        return word.split("=", 1)[0]
    return word[:2]  # "-pSECRET", "-x=SECRET": a short option and its value


class _Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one line and an exit code, never ``sys.exit``.

    argparse quotes what was typed in its messages (``unrecognized arguments: -pSECRET``,
    ``ignored explicit argument 'SECRET'``), and CI logs keep stderr: a word typed on the command
    line may be a password, so messages name options only, never values or stray words.
    Abbreviated options are off: ``--password`` must never be taken for ``--password-stdin``.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        raise CommandError(f"{_without_values(message)} (see '{self.prog} --help')", EXIT_USAGE)


def _without_values(message: str) -> str:
    prefix = "unrecognized arguments: "
    if message.startswith(prefix):
        options = [_option_name(word) for word in message[len(prefix) :].split() if word.startswith("-")]
        return prefix + (" ".join(dict.fromkeys(options)) if options else "(words that are not options)")
    if message.startswith("argument COMMAND: invalid choice"):
        return "unknown command: choose login, status, user, token or logout"
    match = _IGNORED_VALUE.fullmatch(message)
    if match:
        return f"argument {match['option']} takes no value"
    match = _INVALID_VALUE.fullmatch(message)
    if match:
        return f"argument {match['option']}: not a valid value"
    match = _OPTION_VALUE.fullmatch(message)
    if match and "'" in message:
        return f"argument {match['option']}: {message[match.end('option') + 2 :].split(chr(39), 1)[0].strip()}"
    return message if "'" not in message else "the command line is not valid"


_PASSWORD_FLAGS = ("--password", "-p")


def refuse_password_argument(argv: Sequence[str]) -> None:
    """A password typed as an argument is refused by name (it is already in the shell's history).

    ``--password SECRET``, ``--password=SECRET``, ``-p SECRET`` and ``-pSECRET`` are all refused,
    without repeating the value.
    """
    for word in argv:
        if word == "--":
            return
        if word in _PASSWORD_FLAGS or word.startswith("--password=") or (word.startswith("-p") and word[1:2] != "-"):
            raise CommandError(
                f"the password is never an argument: type it when 'mdnotes login' asks, set ${ENV_PASSWORD} "
                "or use 'mdnotes login --password-stdin'",
                EXIT_USAGE,
            )


def scrub(message: str, argv: Sequence[str]) -> str:
    """``message`` without any value or stray word of ``argv``: the last guard against an echo.

    Option names stay (``--pass`` of ``--pass=SECRET``); what follows ``=`` in a long option, what
    follows a short option's letter (``-xSECRET``) and every word that is not an option go.
    """
    message, see, hint = message.rpartition(" (see '")
    if not see:
        message, hint = hint, ""
    for word in sorted(argv, key=len, reverse=True):
        if word.startswith("--"):
            value = word.partition("=")[2]
        elif word.startswith("-"):
            value = word[2:]
        else:
            value = word
        if len(value) >= 3 and value not in _COMMANDS and value in message:
            message = message.replace(value, "***")
    return message + see + hint


_COMMANDS = frozenset({"login", "status", "user", "token", "logout"})


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("not a number of seconds") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError("must be a positive number of seconds")
    return value


def _common_options() -> _Parser:
    """The settings every command takes, before or after its name.

    Their default is ``SUPPRESS``: only options actually given reach the namespace, so an option
    after the command never erases the same option given before it.
    """
    common = _Parser(add_help=False, argument_default=argparse.SUPPRESS)
    group = common.add_argument_group("settings (a flag wins over its environment variable)")
    group.add_argument(
        "--base-uri", metavar="URL", help=f"the API's base URL [${ENV_BASE_URI}; default: the SDK's default server]"
    )
    group.add_argument("--client-id", metavar="ID", help=f"OAuth 2 client id [${ENV_CLIENT_ID}]")
    group.add_argument(
        "--client-secret",
        metavar="SECRET",
        help=f"OAuth 2 client secret [${ENV_CLIENT_SECRET}; prefer the variable: other local users can "
        "read command lines]",
    )
    group.add_argument("-u", "--username", metavar="NAME", help=f"your user name [${ENV_USERNAME}]")
    group.add_argument(
        "--token-store",
        metavar="PATH",
        help=f"the token store file [${ENV_TOKEN_STORE}; default here: {default_store_for_help()}]",
    )
    group.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=_positive_seconds,
        help=f"how long to wait for the server (default {DEFAULT_TIMEOUT:g})",
    )
    group.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="log each request (secrets masked) and show tracebacks of unexpected errors",
    )
    return common


_EPILOG = (
    "The password is never a flag: login asks for it, or reads $MDNOTES_PASSWORD or --password-stdin.\n"
    "Exit status: 0 success, 1 API error (error answer, server unreachable, token store failure),\n"
    "2 usage error, 3 authentication failed (wrong password, not logged in, token refused), 130 Ctrl-C."
)


def build_parser() -> argparse.ArgumentParser:
    """The ``mdnotes`` argument parser; each command's handler is in ``args.handler``."""
    from mdnotesropcgwithoutauthscopes import __version__

    common = _common_options()
    parser = _Parser(
        prog=PROG,
        description="Sign in to the MdNotes API, check the service and your account, and manage the stored token.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subcommands = parser.add_subparsers(title="commands", metavar="COMMAND", dest="command")

    def command(
        name: str, handler: Callable[[argparse.Namespace, commands.Context], int], summary: str, detail: str
    ) -> argparse.ArgumentParser:
        sub = subcommands.add_parser(
            name,
            help=summary,
            description=f"{summary}\n\n{detail}",
            epilog=_EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
            parents=[common],
        )
        sub.set_defaults(handler=handler)
        return sub

    login = command(
        "login",
        commands.login,
        "Sign in with your password and keep the token in the token store.",
        "The password is read from --password-stdin, else $MDNOTES_PASSWORD, else asked for without echo.\n"
        "Only the token is kept; the password is not stored.",
    )
    login.add_argument(
        "--password-stdin", action="store_true", help="read the password from the first line of standard input"
    )
    for name, handler, summary in (
        ("status", commands.status, "Show the service status (GET /status) with the stored token."),
        ("user", commands.user, "Show your account (GET /user) with the stored token."),
    ):
        sub = command(
            name,
            handler,
            summary,
            "The token is renewed with its refresh token when it has expired or is refused; with\n"
            "$MDNOTES_PASSWORD set, the password is used when no token is stored or the refresh is refused.",
        )
        sub.add_argument("--json", action="store_true", help="print the answer as JSON")
    token = command(
        "token",
        commands.token,
        "Show the stored token's expiry, time left and fingerprint.",
        "The fingerprint is the first 12 hex digits of the SHA-256 of the access token: it tells tokens\n"
        "apart without showing them. Nothing is sent to the server.",
    )
    token.add_argument("--json", action="store_true", help="print the details as JSON")
    token.add_argument("--show", action="store_true", help="also print the access token itself (a secret)")
    command(
        "logout",
        commands.logout,
        "Forget the stored token.",
        "The token is removed from the token store; the server is not told (it has no revocation endpoint).",
    )
    return parser
