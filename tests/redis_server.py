"""A real redis-server on 127.0.0.1 for the shared store's tests: no persistence, in a temporary
directory, stopped and started again on the same port when a test needs Redis to go away mid-run."""

import shutil
import socket
import subprocess
import tempfile
import time

import pytest

START_TIMEOUT_S = 10


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    def __init__(self, executable: str, directory: str):
        self._executable = executable
        self._directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: subprocess.Popen | None = None

    def start(self):
        self._process = subprocess.Popen(
            [self._executable, "--bind", "127.0.0.1", "--port", str(self.port), "--dir", self._directory,
             "--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _answers_ping(self.port):
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"redis-server did not come up on 127.0.0.1:{self.port}")
            time.sleep(0.02)

    def stop(self):
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=START_TIMEOUT_S)
            self._process = None


@pytest.fixture(scope="session")
def redis_server():
    """A running redis-server (`.url`, `.port`, `.stop()`, `.start()`), shared by the session's tests."""
    executable = shutil.which("redis-server")
    if executable is None:
        pytest.fail("redis-server is not installed: the README's test command installs it (Debian's redis-server)")
    with tempfile.TemporaryDirectory(prefix="otpsim-redis-") as directory:
        server = RedisServer(executable, directory)
        server.start()
        try:
            yield server
        finally:
            server.stop()
