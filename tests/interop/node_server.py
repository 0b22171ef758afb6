"""Runs tests/interop/node/server.js (@node-oauth/oauth2-server) as a subprocess for the interop tests.

Like authlib_server and oauthlib_server, this module names the library, its version and what it does
where the servers differ; a NodeServer's ``state`` answers what ServerState answers for them (what
the server counted and saw, and the latest token it issued), read from the server's /_stats.

Node.js and npm are the only things this needs besides the SDK's own test requirements; when
either is missing the Node tests are skipped (that is the only reason they ever skip). The npm
packages are installed from the committed lockfile with `npm ci` once, when
`tests/interop/node/node_modules` is missing or holds another version of the library than the
lockfile; an npm failure fails the tests with npm's output.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from .common import BASE_PATH, CLIENT_ID, CLIENT_SECRET, PASSWORD, TOKEN_PATH, USERNAME, Exchange

NODE_DIR = Path(__file__).resolve().parent / "node"
SERVER_JS = NODE_DIR / "server.js"
LOCKFILE = NODE_DIR / "package-lock.json"
PACKAGE = "@node-oauth/oauth2-server"
NODE_MISSING = "Node.js is not installed: the Node oauth2-server interop needs node and npm"

NPM_CI_TIMEOUT = 180  # seconds
LISTEN_TIMEOUT = 10  # seconds for `LISTENING <port>`
STOP_GRACE = 5  # seconds between SIGTERM and SIGKILL

# A second client whose id holds no ':' and only ASCII, so that unencoded Basic can carry it:
# it shows what the stock library (no decoding in the model) accepts.
ASCII_CLIENT_ID = "node+client%/id"
ASCII_CLIENT_SECRET = "s3cr+et%/ pass"


def _locked_version():
    """The library version the lockfile pins (readable before `npm ci`, so test ids can name it)."""
    lock = json.loads(LOCKFILE.read_text(encoding="utf-8"))
    return lock["packages"][f"node_modules/{PACKAGE}"]["version"]


LIBRARY = PACKAGE
VERSION = _locked_version()

# What the stock library does where the servers differ (see doc/compatibility.md).
BAD_PASSWORD_ERROR = "invalid_grant"
# The library hands Basic credentials to the model undecoded; our model form-decodes them as
# RFC 6749 §2.3.1 asks unless started with another basic_decoding than the default "form".
DECODES_RFC6749_BASIC = True
# Client id and secret must be printable ASCII (RFC 6749 Appendix A, VSCHAR): the interop id's 'é'
# is refused in the form body, and so is the "secret" that unencoded Basic leaves after the id's ':'.
ASCII_ONLY_CLIENT_CREDENTIALS = True
# expires_in is the whole seconds left (Math.floor): now and then one less than the lifetime.
EXPIRES_IN_MAY_BE_ONE_LESS = True
# "scope" is left out of token responses when none was asked for (the SDK's token.scope is None).
TOKEN_RESPONSE_SCOPE = None
# Without rotation (alwaysIssueNewRefreshToken: false) a refresh response carries no refresh_token.
RESENDS_REFRESH_TOKEN_WITHOUT_ROTATION = False
# The challenge of a client refused in the Basic header (a wrong secret) and of an unknown bearer token.
INVALID_CLIENT_CHALLENGE = 'Basic realm="Service"'
INVALID_TOKEN_CHALLENGE = 'Bearer realm="Service",error="invalid_token"'


def installed_version():
    """The version npm actually installed, read from the package's own package.json."""
    package_json = NODE_DIR / "node_modules" / PACKAGE / "package.json"
    return json.loads(package_json.read_text(encoding="utf-8"))["version"]


def node_executables():
    """(node, npm) paths; skips the test when either is missing."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        pytest.skip(NODE_MISSING)
    return node, npm


_install_lock = threading.Lock()


def _installed_matches_lockfile():
    try:
        return installed_version() == VERSION
    except (OSError, ValueError, KeyError):
        return False


def ensure_installed(npm):
    """Run `npm ci` in tests/interop/node unless node_modules already holds the locked library version."""
    with _install_lock:
        if _installed_matches_lockfile():
            return
        try:
            completed = subprocess.run(
                # --loglevel=error rather than --silent: quiet when it works, npm's errors when not.
                [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"],
                cwd=NODE_DIR,
                capture_output=True,
                text=True,
                timeout=NPM_CI_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired as timeout:
            pytest.fail(
                f"`npm ci` in {NODE_DIR} took more than {NPM_CI_TIMEOUT} s:\n"
                f"{timeout.stdout or ''}\n{timeout.stderr or ''}",
                pytrace=False,
            )
        if completed.returncode != 0:
            pytest.fail(
                f"`npm ci` in {NODE_DIR} failed with exit code {completed.returncode}:\n"
                f"{completed.stdout}\n{completed.stderr}",
                pytrace=False,
            )
        if not _installed_matches_lockfile():
            pytest.fail(f"`npm ci` in {NODE_DIR} did not install {PACKAGE} {VERSION}", pytrace=False)


def _config(clients):
    # ensure_ascii: the non-ASCII letters travel as \u escapes, whatever the locale's encoding.
    return json.dumps(
        {"clients": [list(client) for client in clients], "username": USERNAME, "password": PASSWORD}, ensure_ascii=True
    )


class NodeServer:
    """One `node server.js` process, started on a free port of 127.0.0.1: its base_url and state."""

    def __init__(
        self,
        node,
        *,
        token_lifetime=3600,
        rotate_refresh_tokens=True,
        basic_decoding="form",
        clients=((CLIENT_ID, CLIENT_SECRET), (ASCII_CLIENT_ID, ASCII_CLIENT_SECRET)),
    ):
        self.basic_decoding = basic_decoding
        args = [
            node,
            str(SERVER_JS),
            "--port",
            "0",
            "--token-lifetime",
            str(token_lifetime),
            "--basic-decoding",
            basic_decoding,
            "--watch-stdin",
        ]
        if not rotate_refresh_tokens:
            args.append("--no-rotate")
        env = {**os.environ, "NODE_INTEROP_CONFIG": _config(clients)}
        # stderr goes to a file: read only to explain a failure, it can never fill a pipe.
        self._stderr = tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace")
        self.process = subprocess.Popen(
            args, cwd=NODE_DIR, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, text=True
        )
        try:
            port = self._read_port()
        except BaseException:
            self.stop()
            raise
        self.base_url = f"http://127.0.0.1:{port}{BASE_PATH}"
        self.state = NodeState(f"http://127.0.0.1:{port}")

    def _read_port(self):
        lines = queue.Queue()
        reader = threading.Thread(target=lambda: lines.put(self.process.stdout.readline()), daemon=True)
        reader.start()
        try:
            line = lines.get(timeout=LISTEN_TIMEOUT)
        except queue.Empty:
            pytest.fail(
                f"node server.js printed no LISTENING line within {LISTEN_TIMEOUT} s:\n{self.stderr()}", pytrace=False
            )
        word, _, port = line.strip().partition(" ")
        if word != "LISTENING" or not port.isdigit():
            if not line:  # stdout closed: node is exiting; let it finish writing stderr
                try:
                    self.process.wait(timeout=STOP_GRACE)
                except subprocess.TimeoutExpired:
                    pass
            pytest.fail(
                f"node server.js did not start (exit code {self.process.poll()}); "
                f"stdout {line!r}, stderr:\n{self.stderr()}",
                pytrace=False,
            )
        return int(port)

    def stderr(self):
        self._stderr.seek(0)
        return self._stderr.read()

    def stop(self):
        """Terminate the process this object started (by its pid) and wait for it."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_GRACE)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()
        self._stderr.close()


@dataclass
class IssuedToken:
    """A token pair as the server sent it in a token response (no refresh_token: None)."""

    access_token: str
    refresh_token: str | None


class NodeState:
    """What the server counted and saw, read from its GET /_stats, as ServerState offers it for the Python servers."""

    def __init__(self, origin):
        self._stats_url = origin + "/_stats"

    def stats(self):
        response = requests.get(self._stats_url, timeout=10)
        response.raise_for_status()
        return response.json()

    @property
    def token_requests(self):
        """Token requests the server got (failed ones included), counted by grant_type."""
        return Counter(self.stats()["token_requests"])

    @property
    def token_request_count(self):
        return sum(self.token_requests.values())

    @property
    def exchanges(self):
        """Every exchange the server saw, in order (a new list each time: the server holds the record)."""
        return [
            Exchange(
                e["method"],
                e["path"],
                e["authorization"],
                e["content_type"],
                e["accept"],
                e["body"],
                status="" if e["status"] is None else str(e["status"]),
                response_body=e["response_body"] or "",
                response_headers=e["response_headers"] or {},
            )
            for e in self.stats()["exchanges"]
        ]

    def latest_token(self):
        """The token of the server's latest successful token response."""
        issued = [json.loads(e.response_body) for e in self.exchanges if e.path == TOKEN_PATH and e.status_code == 200]
        token = issued[-1]
        return IssuedToken(token["access_token"], token.get("refresh_token"))

    def describe_exchanges(self):
        """All exchanges, one per line, for assertion messages."""
        return "\n".join(str(exchange) for exchange in self.exchanges)
