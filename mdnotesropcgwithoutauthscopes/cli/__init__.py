"""The ``mdnotes`` command: sign in, check the service and manage the stored token from a shell.

Modules by concern: ``parsing`` (the command line), ``settings`` (flags, environment, defaults),
``commands`` (what each command does), ``output`` (what it prints) and ``errors`` (exit statuses
and messages). Only the standard library is imported at module level: ``--help`` and the unit
tests of parsing and formatting must not pay for importing the SDK and ``requests``; the
commands use the SDK's public API (names from the package root) when they run.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Optional

from mdnotesropcgwithoutauthscopes.cli.commands import Context
from mdnotesropcgwithoutauthscopes.cli.errors import describe_failure, failures
from mdnotesropcgwithoutauthscopes.cli.exits import (
    EXIT_API_ERROR,
    EXIT_AUTH,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    PROG,
    CommandError,
)
from mdnotesropcgwithoutauthscopes.cli.output import (
    fingerprint,
    format_duration,
    format_fields,
    format_json,
    format_time,
    format_token,
    token_details,
)
from mdnotesropcgwithoutauthscopes.cli.parsing import build_parser, refuse_password_argument, scrub
from mdnotesropcgwithoutauthscopes.cli.settings import (
    DEFAULT_TIMEOUT,
    Settings,
    default_token_store_path,
    normalize_base_uri,
    resolve_settings,
)

__all__ = [
    "DEFAULT_TIMEOUT",
    "EXIT_API_ERROR",
    "EXIT_AUTH",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "CommandError",
    "Context",
    "Settings",
    "build_parser",
    "default_token_store_path",
    "describe_failure",
    "fingerprint",
    "format_duration",
    "format_fields",
    "format_json",
    "format_time",
    "format_token",
    "main",
    "normalize_base_uri",
    "resolve_settings",
    "token_details",
]

_SDK_LOGGER = "mdnotesropcgwithoutauthscopes"


@contextmanager
def _sdk_logging(verbose: bool) -> Iterator[None]:
    """Show the SDK's warnings (debug lines with ``-v``) on stderr, prefixed; undone afterwards."""
    logger = logging.getLogger(_SDK_LOGGER)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(f"{PROG}: %(levelname)s: %(message)s"))
    saved_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if verbose else logging.WARNING)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(saved_level)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run ``mdnotes`` with ``argv`` (default: the process's arguments) and return the exit status.

    Errors end as one ``mdnotes: error: ...`` line on stderr, without a traceback or a secret;
    Ctrl-C ends quietly with status 130.

    Args:
        argv: the arguments after the program name.

    Returns:
        int: 0 success, 1 API error, 2 usage error, 3 authentication failed, 130 interrupted.
    """
    verbose = False
    arguments: list[str] = []
    try:
        arguments = sys.argv[1:] if argv is None else list(argv)
        refuse_password_argument(arguments)
        parser = build_parser()
        try:
            args = parser.parse_args(arguments)
        except SystemExit as exc:  # --help and --version print and "exit"; main() returns instead
            return exc.code if isinstance(exc.code, int) else EXIT_USAGE
        except CommandError as exc:
            # The parser names options only; this catches any word of the command line it still quotes.
            raise CommandError(scrub(exc.message, arguments), exc.exit_code) from None
        verbose = getattr(args, "verbose", False)
        if args.command is None:
            raise CommandError(f"choose a command: login, status, user, token or logout (see '{PROG} --help')", 2)
        context = Context(resolve_settings(args, os.environ), os.environ, sys.stdout)
        with _sdk_logging(verbose):
            try:
                status: int = args.handler(args, context)
            except BrokenPipeError:
                raise
            except failures() as exc:
                raise describe_failure(
                    exc, context.settings, context.base_uri, logging_in=args.command == "login"
                ) from None
        sys.stdout.flush()
        return status
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except CommandError as exc:
        print(f"{PROG}: error: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:
        # The reader went away (``mdnotes status | head -1``): stop quietly, and keep the
        # interpreter from complaining when it flushes stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_API_ERROR
    except Exception as exc:  # noqa: BLE001 - one line instead of a traceback, as promised
        if verbose:
            raise
        # The message of an unknown exception could hold anything, so only its type is shown.
        print(f"{PROG}: error: unexpected {type(exc).__name__}; run again with --verbose for details", file=sys.stderr)
        return EXIT_API_ERROR
