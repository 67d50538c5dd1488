"""Issue 15: the CLI as a user or a container meets it: real ports, clear refusals, no tracebacks,
no key left behind, every option from OTPSIM_* variables."""

import os
import re
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

OTPSIM = [sys.executable, "-m", "simulator.core.serving.cli"]


def start(*args, env=None):
    return subprocess.Popen(OTPSIM + ["serve", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, **(env or {})})


def line_matching(process, pattern, seen=None, timeout=30) -> re.Match:
    seen = [] if seen is None else seen
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        match = re.search(pattern, line)
        if match:
            return match
    raise AssertionError(f"no line matching {pattern!r} in {seen}")


def stop(process, sig=signal.SIGINT) -> int:
    process.send_signal(sig)
    try:
        return process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        raise


def test_port_0_prints_the_port_it_really_serves_on():
    process = start("--port", "0", "--quiet")
    try:
        port = int(line_matching(process, r"serving http://127\.0\.0\.1:(\d+) ").group(1))
        assert port != 0
        assert httpx.get(f"http://127.0.0.1:{port}/__otpsim/health", timeout=10).json()["status"] == "ok"
    finally:
        stop(process)


def test_a_busy_port_is_a_clear_error_without_a_banner():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = subprocess.run(OTPSIM + ["serve", "--port", str(taken.getsockname()[1])],
                                capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "serving" not in result.stdout
    assert re.search(r"otpsim: cannot listen on 127\.0\.0\.1:\d+: Address already in use", result.stderr)
    assert "Traceback" not in result.stderr


def test_an_impossible_port_is_a_usage_error():
    result = subprocess.run(OTPSIM + ["serve", "--port", "99999"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "argument --port: 99999 is out of range (0 to 65535)" in result.stderr
    assert "Traceback" not in result.stderr


def test_schema_into_a_closed_pipe_ends_quietly():
    pipeline = subprocess.run(f"{sys.executable} -m simulator.core.serving.cli schema | head -1", shell=True,
                              capture_output=True, text=True, timeout=60)
    assert pipeline.stdout == "{\n"
    assert "Traceback" not in pipeline.stderr and "BrokenPipe" not in pipeline.stderr


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_serve_tls_removes_its_key_folder_when_stopped(sig):
    process = start("--port", "0", "--tls", "--quiet")
    ca = line_matching(process, r"CA certificate for clients to trust: (\S+)").group(1)
    line_matching(process, r"serving https://")
    folder = os.path.dirname(ca)
    assert os.path.exists(os.path.join(folder, "key.pem"))
    assert stop(process, sig) == 0
    assert not os.path.exists(folder)


def test_a_packaged_recipe_serves_and_an_unknown_name_lists_them():
    process = start("--port", "0", "--quiet", "--scenario", "recipes/first-two-fail")
    try:
        assert "scenario: first-two-fail" in line_matching(process, r"serving http://").string
    finally:
        stop(process)
    result = subprocess.run(OTPSIM + ["serve", "--scenario", "recipes/first-two-fial"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2
    assert "no packaged scenario 'recipes/first-two-fial'" in result.stderr
    assert "recipes/first-two-fail" in result.stderr and "Traceback" not in result.stderr


def test_every_serve_option_can_come_from_the_environment():
    help_text = subprocess.run(OTPSIM + ["serve", "--help"], capture_output=True, text=True, timeout=60).stdout
    options = re.findall(r"^\s+(--[a-z-]+)", help_text, re.M)
    assert "--admin-token" in options and "--read-timeout" in options
    for option in options:
        if option != "--help":
            assert f"OTPSIM_{option[2:].upper().replace('-', '_')}" in " ".join(help_text.split()), option
    process = start(env={"OTPSIM_PORT": "0", "OTPSIM_QUIET": "1", "OTPSIM_ADMIN_TOKEN": "from-env",
                         "OTPSIM_SCENARIO": "recipes/first-two-fail", "OTPSIM_SEED": "7"})
    try:
        banner = line_matching(process, r"serving http://127\.0\.0\.1:(\d+) ")
        assert "scenario: first-two-fail; seed: 7" in banner.string
        url = f"http://127.0.0.1:{banner.group(1)}/__otpsim/health"
        assert httpx.get(url, timeout=10).status_code == 401
        assert httpx.get(url, headers={"Authorization": "Bearer from-env"}, timeout=10).status_code == 200
    finally:
        stop(process)
    refused = subprocess.run(OTPSIM + ["serve"], capture_output=True, text=True, timeout=60,
                             env={**os.environ, "OTPSIM_PORT": "eighty"})
    assert refused.returncode == 2 and "environment OTPSIM_PORT: not a whole number: 'eighty'" in refused.stderr


def test_listening_beyond_loopback_without_a_token_warns():
    process = start("--host", "0.0.0.0", "--port", "0", "--quiet")
    try:
        line_matching(process, r"warning: 0\.0\.0\.0 is reachable beyond this machine .* --admin-token")
    finally:
        stop(process)


SHADOWED = """name: shadowed
rules:
  - name: slow-everything
    match: {product: osm}
    delay_ms: 100
  - name: first-fails
    match: {operation: osm.SendVerifyCodes}
    times: 1
    error: OSM.0004
  - name: some-fail
    match: {product: osm, body: {contact_value: "139"}}
    error: OSM.0004
  - name: voice-busy
    match: {operation: voice.CallVerify}
    call: {outcome: busy}
  - name: once
    match: {}
    times: 1
    delay_ms: 5
"""


def test_check_warns_about_rules_a_catch_all_shadows(tmp_path):
    scenario = tmp_path / "shadowed.yaml"
    scenario.write_text(SHADOWED)
    result = subprocess.run(OTPSIM + ["check", str(scenario)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout == f"{scenario}: ok, 2 warnings\n"
    warnings = result.stderr.splitlines()
    assert warnings == [
        f"{scenario}:6:5: rules[1]: never reached: rules[0] (slow-everything) before it answers every request it "
        "matches (put the catch-all last, or give it times/probability) (warning)",
        f"{scenario}:10:5: rules[2]: never reached: rules[0] (slow-everything) before it answers every request it "
        "matches (put the catch-all last, or give it times/probability) (warning)",
    ]
