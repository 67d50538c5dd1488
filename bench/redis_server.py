"""A throwaway redis-server for the benchmarks: on a free 127.0.0.1 port, in a temporary directory,
no persistence, its CPU time readable while it runs (the shared store's cost includes Redis's own
work), stopped when the benchmark ends.
"""

import os
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

HOST = "127.0.0.1"
START_TIMEOUT_S = 10
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def answers_ping(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.5) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    def __init__(self, process: subprocess.Popen, port: int):
        self.process, self.port = process, port
        self.url = f"redis://{HOST}:{port}/0"

    def cpu_s(self) -> float:
        """CPU time (user + system) redis-server has used so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS   # utime, stime


@contextmanager
def running_redis(executable: str, port: int):
    """A RedisServer on `port`, up and answering PING, until the block ends."""
    with tempfile.TemporaryDirectory(prefix="otpsim-redis-") as directory:
        process = subprocess.Popen(
            [executable, "--bind", HOST, "--port", str(port), "--dir", directory, "--save", "",
             "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + START_TIMEOUT_S
            while not answers_ping(port):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not come up on {HOST}:{port}")
                time.sleep(0.02)
            yield RedisServer(process, port)
        finally:
            process.terminate()
            process.wait(START_TIMEOUT_S)
