"""Issue 15 (13): what a newcomer copies from the docs works: the cams signing helper, the client
snippet's scenario, the outbox and journal naming an operation alike."""

import subprocess
import sys
from pathlib import Path

import httpx

from simulator.embedded import EmbeddedOtpsim

ROOT = Path(__file__).resolve().parents[1]


def signed(*args) -> str:
    result = subprocess.run([sys.executable, str(ROOT / "examples" / "sign_rpc.py"), *args],
                            capture_output=True, text=True, timeout=60, check=True)
    return result.stdout.strip()


def test_the_readme_cams_example_signs_and_verifies_a_code():
    with EmbeddedOtpsim() as otpsim:
        sent = httpx.post(f"{otpsim.base_url}/?" + signed("GetMigrationVerifyCode", "CustSpaceId=29348393884001",
                                                          "PhoneNumber=8613800000000", "Locale=zh_CN", "Method=sms"))
        assert sent.json()["Code"] == "OK", sent.text
        code = otpsim.outbox.latest("8613800000000").code
        verified = httpx.post(f"{otpsim.base_url}/?" + signed("ChatappMigrationVerified", "CustSpaceId=29348393884001",
                                                              "PhoneNumber=8613800000000", f"VerifyCode={code}"))
        assert verified.json()["Message"] == "SUCCESS", verified.text
        message = otpsim.outbox.latest("8613800000000")
        [journal_entry] = [e for e in otpsim.journal() if e.operation == message.operation]
        assert message.operation == "cams.GetMigrationVerifyCode"     # the outbox names it as the journal does
        assert "Signature=***" in journal_entry.query


def test_the_testing_guide_client_snippet_loads_its_scenario():
    with EmbeddedOtpsim() as otpsim:
        assert otpsim.scenario.load("recipes/busy-callee")["name"] == "busy-callee"


def test_sign_rpc_without_arguments_prints_its_usage():
    result = subprocess.run([sys.executable, str(ROOT / "examples" / "sign_rpc.py")], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 1 and result.stderr.startswith("usage: python3 examples/sign_rpc.py")
