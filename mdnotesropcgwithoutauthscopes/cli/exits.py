"""The program name, its exit statuses and ``CommandError``: what every part of the command line raises."""

PROG = "mdnotes"

#: The command did what was asked.
EXIT_OK = 0
#: The API call failed: an error answer, the server cannot be reached, or the token store failed.
EXIT_API_ERROR = 1
#: The command line or the settings are wrong (a missing client id or username, a bad flag...).
EXIT_USAGE = 2
#: Authentication failed: wrong password or client, not logged in, or the stored token was
#: refused and cannot be renewed without the password.
EXIT_AUTH = 3
#: Interrupted with Ctrl-C (128 + SIGINT, as shells report it).
EXIT_INTERRUPTED = 130


class CommandError(Exception):
    """Ends the command with one line on stderr and an exit code; the message never holds a secret."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
