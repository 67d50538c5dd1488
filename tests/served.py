"""A real `otpsim serve` process for tests that meet the CLI as a user does."""

import re
import signal
import socket
import subprocess
import sys
import time

import httpx

OTPSIM = [sys.executable, "-m", "simulator.core.serving.cli"]


def run(*args):
    return subprocess.run(OTPSIM + list(args), capture_output=True, text=True, timeout=60)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Served:
    def __init__(self, *args, env=None):
        self.port = free_port()
        self.process = subprocess.Popen(
            OTPSIM + ["serve", "--port", str(self.port), *args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        )
        self.banner = []

    def wait_for_line(self, pattern, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            self.banner.append(line)
            match = re.search(pattern, line)
            if match:
                return match
        raise AssertionError(f"no line matching {pattern!r} in {self.banner}")

    def stop(self):
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def wait_ready(url, **client_options):
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            return httpx.get(f"{url}/__otpsim/health", **client_options)
        except httpx.TransportError:
            time.sleep(0.05)
    raise AssertionError("never ready")
