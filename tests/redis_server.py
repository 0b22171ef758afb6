"""A real redis-server for tests: started on a free 127.0.0.1 port without persistence, stopped by its pid."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Optional

START_TIMEOUT = 10.0


def redis_server_binary() -> Optional[str]:
    """The path of ``redis-server``, or None when it is not installed."""
    return shutil.which("redis-server") or next(
        (path for path in ("/usr/bin/redis-server", "/usr/local/bin/redis-server") if Path(path).exists()), None
    )


def free_port() -> int:
    """A TCP port nothing listens on right now on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def ping(port: int, timeout: float = 0.5) -> bool:
    """True when a Redis server on 127.0.0.1:``port`` answers PING (or asks for a password)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
            connection.sendall(b"PING\r\n")
            answer = connection.recv(64)
    except OSError:
        return False
    return answer.startswith(b"+PONG") or answer.startswith(b"-NOAUTH")


class RedisServer:
    """One ``redis-server`` process; ``stop()`` and ``start()`` again keep the same port.

    Args:
        binary: the ``redis-server`` executable.
        password: when given, the server requires it (``--requirepass``).
    """

    def __init__(self, binary: str, *, password: Optional[str] = None) -> None:
        self.binary = binary
        self.password = password
        self.port = free_port()
        self._dir = tempfile.TemporaryDirectory(prefix="mdnotes-redis-")
        self._process: Optional[subprocess.Popen[bytes]] = None

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:PORT/0``, with the password when there is one."""
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        """Whether the process this object started is alive."""
        return self._process is not None and self._process.poll() is None

    def start(self) -> RedisServer:
        """Start the server and return once it answers PING.

        Raises:
            RuntimeError: it did not answer within ``START_TIMEOUT`` seconds.
        """
        if self.running:
            return self
        args = [
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--dir",
            self._dir.name,
            "--logfile",
            str(Path(self._dir.name) / "redis.log"),
        ]
        if self.password:
            args += ["--requirepass", self.password]
        self._process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + START_TIMEOUT
        while not ping(self.port):
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                log = Path(self._dir.name, "redis.log")
                tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                raise RuntimeError(f"redis-server on port {self.port} did not start:\n{tail}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        """Stop the process this object started (SIGTERM, then SIGKILL); nothing else."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

    def restart(self) -> None:
        """Stop the server and start a new one on the same port (its data is gone: no persistence)."""
        self.stop()
        self.start()

    def close(self) -> None:
        """Stop the server and remove its working folder."""
        self.stop()
        self._dir.cleanup()

    def __repr__(self) -> str:
        return f"<RedisServer 127.0.0.1:{self.port} {'running' if self.running else 'stopped'}>"
