"""Run the real ``mdnotes`` command in a subprocess, with a private HOME, against a reference server."""

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from tests.helpers.integration import DEMO

SCRIPT = Path(sys.executable).with_name("mdnotes.exe" if os.name == "nt" else "mdnotes")
# Hang detection only: a command that needs longer than this is stuck.
COMMAND_TIMEOUT = 60


@dataclass
class Result:
    """What one run of the command left behind."""

    argv: list
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@dataclass
class Mdnotes:
    """Runs ``mdnotes`` with a private HOME and data directory, configured for one server."""

    home: Path
    env: dict = field(default_factory=dict)
    script: bool = False

    @property
    def data_home(self) -> Path:
        return self.home / "data"

    @property
    def store_path(self) -> Path:
        """Where the store goes by default here: ``$XDG_DATA_HOME/mdnotes/tokens.sqlite3``."""
        return self.data_home / "mdnotes" / "tokens.sqlite3"

    def __call__(self, *args: str, input: Optional[str] = None, **env: Optional[str]) -> Result:
        """Run the command; keyword arguments set (or, with None, remove) environment variables."""
        environ = {k: v for k, v in os.environ.items() if not k.startswith("MDNOTES_")}
        environ.update(HOME=str(self.home), XDG_DATA_HOME=str(self.data_home), PYTHONDONTWRITEBYTECODE="1")
        environ.update(self.env)
        for name, value in env.items():
            if value is None:
                environ.pop(name, None)
            else:
                environ[name] = value
        command = [str(SCRIPT)] if self.script else [sys.executable, "-m", "mdnotesropcgwithoutauthscopes"]
        done = subprocess.run(
            [*command, *args],
            env=environ,
            input=input if input is not None else "",
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            # No controlling terminal: getpass must never wait on the terminal running the tests.
            start_new_session=True,
        )
        return Result([*command, *args], done.returncode, done.stdout, done.stderr)


def settings_for(server) -> dict:
    """The environment that points ``mdnotes`` at ``server`` (no password)."""
    return dict(
        MDNOTES_BASE_URI=server.base_uri,
        MDNOTES_CLIENT_ID=DEMO["client_id"],
        MDNOTES_CLIENT_SECRET=DEMO["client_secret"],
        MDNOTES_USERNAME=DEMO["username"],
    )


def assert_one_error_line(result: Result, *, code: int, starts: str) -> None:
    """The run failed with ``code`` and one ``mdnotes: error:`` line, no traceback, no secret."""
    assert result.returncode == code, result
    assert result.stdout == "", result
    assert result.stderr.startswith("mdnotes: error: " + starts), result
    assert result.stderr.count("\n") == 1, result
    assert "Traceback" not in result.output
    for secret in (DEMO["password"], DEMO["client_secret"]):
        assert secret not in result.output
