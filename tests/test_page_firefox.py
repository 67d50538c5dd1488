"""The page at /__otpsim/ in a real headless Firefox (the OS package `firefox-esr`), driven by
puppeteer-core from npm over WebDriver BiDi (tests/firefox/page_check.mjs); Playwright drives only
its own Firefox build, so tests/test_page.py covers Chromium."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from page_helpers import latest_code, send_code

FIREFOX = Path("/usr/bin/firefox-esr")
CHECK = Path(__file__).resolve().parent / "firefox"
NODE = shutil.which("node")
SETUP = "the README's test command installs it"

pytestmark = [
    pytest.mark.skipif(not FIREFOX.exists(), reason=f"no /usr/bin/firefox-esr on this machine ({SETUP}: apt-get install firefox-esr)"),
    pytest.mark.skipif(NODE is None or not (CHECK / "node_modules" / "puppeteer-core").is_dir(),
                       reason=f"no node or no tests/firefox/node_modules ({SETUP}: npm ci --prefix tests/firefox)"),
]


def test_a_sent_code_appears_without_a_reload_and_the_clock_opens_from_the_keyboard(live):
    assert send_code(live, "13800000000").status_code == 200     # before the page loads
    before = latest_code(live, "13800000000")
    check = subprocess.Popen([NODE, str(CHECK / "page_check.mjs"), f"{live.url}/__otpsim/#outbox"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ready = json.loads(check.stdout.readline() or "null")
        assert ready == {"ready": True, "codesAtLoad": [before]}, check.stderr.read() if ready is None else ready
        assert send_code(live, "13900000000").status_code == 200  # while it is open
        after = latest_code(live, "13900000000")
        check.stdin.write(after + "\n")
        check.stdin.flush()
        out, err = check.communicate(timeout=60)
    finally:
        if check.poll() is None:
            check.kill()
            check.wait()
    assert check.returncode == 0, err
    result = json.loads(out)

    assert result["userAgent"].lower().startswith("firefox/"), result["userAgent"]
    assert [message["code"] for message in result["outbox"]] == [after, before]   # newest first, live
    assert "13900000000" in result["outbox"][0]["text"] and "osm · SendVerifyCodes" in result["outbox"][0]["text"]
    assert result["notReloaded"] is True
    assert result["focused"] == "Clock"
    assert result["clock"]["visible"] is True and result["clock"]["current"] == "page" and result["clock"]["hash"] == "#clock"
    assert result["clock"]["time"].startswith("20") and result["clock"]["mode"]
    assert result["errors"] == []
