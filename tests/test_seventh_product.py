"""A 7th (and 8th) product is new files only: a spec on the vendor commons and a product module, in a
folder of their own, served beside the packaged six. And start-up refuses, naming the file and the
clash, what would otherwise fail later: a route or RPC action claimed twice, a path template, a spec
lacking what its auth scheme or product module needs, a module lacking a handler.

The products are tests/seventh_product/ (a minimal Alibaba RPC action and a minimal Huawei path),
copied to a temporary folder, and variants of them written there."""

import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from openapi_spec_validator import validate
from starlette.testclient import TestClient

from alibaba_signing import acs3, rpc
from huawei_signing import signed_headers
from simulator.core.compose import build_parts, simulator_from_texts
from simulator.core.errors import SpecError
from simulator.embedded import EmbeddedOtpsim

PRODUCTS = Path(__file__).resolve().parent / "seventh_product"
HOST = "127.0.0.1:8080"


def folder(tmp_path: Path, *names: str, edits: dict | None = None) -> Path:
    """A folder with the named files of tests/seventh_product/, `edits` {file: (old, new), ...} applied."""
    target = tmp_path / "products"
    target.mkdir(exist_ok=True)
    for name in names:
        shutil.copy(PRODUCTS / name, target / name)
    for name, pairs in (edits or {}).items():
        text = (target / name).read_text(encoding="utf-8")
        for old, new in zip(pairs[::2], pairs[1::2]):
            assert old in text, (name, old)
            text = text.replace(old, new)
        (target / name).write_text(text, encoding="utf-8")
    return target


def write(directory: Path, name: str, text: str) -> Path:
    (directory / name).write_text(text, encoding="utf-8")
    return directory


ALL = ("tinyali.yaml", "tinyali.py", "tinyhw.yaml", "tinyhw.py")


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    parts = build_parts([folder(tmp_path_factory.mktemp("seventh"), *ALL)])
    sim = simulator_from_texts([], parts=parts)
    with TestClient(sim, base_url=f"http://{HOST}") as test_client:
        yield test_client


def latest_code(client, to: str) -> str:
    messages = client.get("/__otpsim/outbox", params={"to": to}).json()
    return messages[-1]["code"]


def test_an_alibaba_rpc_product_from_new_files_answers_both_signature_styles(client):
    path, headers = acs3("SendTinyCode", {"PhoneNumber": "8613800000001"})
    answer = client.post(path, headers=headers)
    assert answer.status_code == 200 and answer.json()["Code"] == "OK"
    assert re.fullmatch(r"\d{4}", latest_code(client, "8613800000001"))   # its own code_length
    answer = client.post(rpc("SendTinyCode", {"PhoneNumber": "8613800000002"}))
    assert answer.status_code == 200 and answer.json()["Code"] == "OK"
    assert latest_code(client, "8613800000002")


def test_the_alibaba_commons_answer_for_the_new_product(client):
    path, headers = acs3("SendTinyCode", {"PhoneNumber": "8613800000003"}, secret="wrong")
    refused = client.post(path, headers=headers)
    assert refused.status_code == 400
    body = refused.json()
    assert body["Code"] == "SignatureDoesNotMatch" and body["HostId"] == HOST
    assert "product=TinyAli" in body["Recommend"]    # the product's envelope-values in the shared envelope
    path, headers = acs3("SendTinyCode", {})
    missing = client.post(path, headers=headers).json()
    assert missing["Code"] == "MissingParameter" and '"PhoneNumber"' in missing["Message"]
    # cams, beside it on /, is unchanged
    path, headers = acs3("GetMigrationVerifyCode", {"CustSpaceId": "1", "PhoneNumber": "8613800000004",
                                                    "Locale": "en", "Method": "sms"})
    assert client.post(path, headers=headers).json()["Code"] == "OK"


def test_a_huawei_product_from_new_files_answers_behind_the_gateway(client):
    body = b'{"mobile": "8613800000005"}'
    answer = client.post("/v1/tiny/codes", content=body, headers=signed_headers("POST", "/v1/tiny/codes", body))
    assert answer.status_code == 200 and answer.json() == {"code_sent": True}
    assert re.fullmatch(r"[0-9a-f]{32}", answer.headers["x-request-id"])       # the gateway's request ids
    assert re.fullmatch(r"\d{6}", latest_code(client, "8613800000005"))
    unsigned = client.post("/v1/tiny/codes", content=body, headers={"content-type": "application/json"})
    assert unsigned.status_code == 401
    assert unsigned.json() == {"error_code": "APIGW.0301", "error_msg": unsigned.json()["error_msg"],
                               "request_id": unsigned.headers["x-request-id"]}
    unknown = client.get("/v1/tiny/nothing")
    assert unknown.status_code == 404 and unknown.json()["error_code"] == "APIGW.0101"
    invalid = client.post("/v1/tiny/codes", content=b'{"mobile": "x"}',
                          headers=signed_headers("POST", "/v1/tiny/codes", b'{"mobile": "x"}'))
    assert invalid.status_code == 400 and invalid.json() == {"error_code": "TINY.0001", "error_msg": "Invalid mobile."}


def test_the_new_products_are_served_as_self_contained_specs_and_catalogues(client):
    for name in ("tinyali", "tinyhw"):
        validate(client.get(f"/__otpsim/openapi/{name}.json").json())
    spec = client.get("/__otpsim/openapi/tinyali.json").json()
    assert spec["components"]["parameters"]["AccessKeyId"]["in"] == "query"         # copied from the commons
    assert spec["components"]["securitySchemes"]["acs3"]["name"] == "Authorization"
    assert "include" not in spec["x-otpsim"] and "SignatureNonceUsed" in spec["x-otpsim"]["errors"]
    assert all(ref.startswith("#/") for ref in re.findall(r'"\$ref": "([^"]+)"', str(spec).replace("'", '"')))
    codes = {entry["code"] for entry in client.get("/__otpsim/catalogue/tinyhw").json()}
    assert {"TINY.0001", "APIGW.0101", "APIGW.0301", "APIGW.0308"} <= codes


# --- refusals


def refusal(directory: Path) -> str:
    with pytest.raises(SpecError) as refused:
        build_parts([directory])
    return str(refused.value)


def test_an_rpc_action_claimed_twice_is_refused(tmp_path):
    directory = folder(tmp_path, "tinyali.yaml", "tinyali.py", edits={
        "tinyali.yaml": ("SendTinyCode", "GetMigrationVerifyCode"), "tinyali.py": ("SendTinyCode", "GetMigrationVerifyCode")})
    message = refusal(directory)
    assert str(directory / "tinyali.yaml") in message
    assert "RPC action GetMigrationVerifyCode on / is claimed by cams" in message and "x-otpsim.hosts" in message


def test_a_route_claimed_twice_is_refused(tmp_path):
    directory = folder(tmp_path, "tinyhw.yaml", "tinyhw.py", edits={
        "tinyhw.yaml": ("/v1/tiny/codes:", "/v2/servicerequest/verifycodes/send:")})
    message = refusal(directory)
    assert str(directory / "tinyhw.yaml") in message
    assert "POST /v2/servicerequest/verifycodes/send is claimed by osm" in message


def test_products_whose_hosts_tell_them_apart_may_share_an_rpc_action(tmp_path):
    hosts = "  product: tinyali\n  hosts: [tinyali.aliyuncs.com]\n"
    directory = folder(tmp_path, "tinyali.yaml", "tinyali.py", edits={"tinyali.yaml": ("  product: tinyali\n", hosts)})
    twin = (directory / "tinyali.yaml").read_text(encoding="utf-8").replace("tinyali", "tinytwin")
    write(directory, "tinytwin.yaml", twin)
    write(directory, "tinytwin.py", (directory / "tinyali.py").read_text(encoding="utf-8").replace("tinyali", "tinytwin"))
    parts = build_parts([directory])
    assert {"tinyali", "tinytwin"} <= set(parts.products)
    assert parts.products["tinytwin"].hosts == ("tinytwin.aliyuncs.com",)
    write(directory, "tinytwin.yaml", twin.replace("[tinytwin.aliyuncs.com]", "[tinytwin.aliyuncs.com, tinyali.aliyuncs.com]"))
    message = refusal(directory)
    assert str(directory / "tinytwin.yaml") in message
    assert "RPC action SendTinyCode on / is claimed by tinyali" in message


def test_a_path_template_is_served_through_starlettes_path_compiler(client):
    body = b'{"mobile": "8613800000006"}'
    path = "/v1/tiny/email/codes"
    answer = client.post(path, content=body, headers=signed_headers("POST", path, body))
    assert answer.status_code == 200
    assert client.get("/__otpsim/outbox", params={"to": "8613800000006"}).json()[-1]["channel"] == "email"
    path = "/v1/tiny/fax/codes"    # the template fits; the parameter's enum does not
    refused = client.post(path, content=body, headers=signed_headers("POST", path, body))
    assert refused.status_code == 400 and refused.json() == {"error_code": "TINY.0001", "error_msg": "Invalid channel."}
    assert client.get("/v1/tiny/email/codes/more").json()["error_code"] == "APIGW.0101"   # one segment only


def test_a_path_template_the_router_cannot_serve_is_refused(tmp_path):
    undeclared = folder(tmp_path, "tinyhw.yaml", "tinyhw.py", edits={"tinyhw.yaml": (
        "        - {name: channel, in: path, required: true, schema: {type: string, enum: [sms, email]}}\n", "")})
    message = refusal(undeclared)
    assert str(undeclared / "tinyhw.yaml") in message
    assert ("POST /v1/tiny/{channel}/codes (SendTinyCodeBy): the template's parameters ['channel'] are not "
            "the operation's `in: path` parameters []") in message


def test_two_templates_differing_only_in_parameter_names_are_one_route(tmp_path):
    directory = folder(tmp_path, "tinyhw.yaml", "tinyhw.py", edits={"tinyhw.yaml": (
        "  /v1/tiny/codes:", """\
  /v1/tiny/{way}/codes:
    post:
      operationId: SendTinyCode
      parameters: [{name: way, in: path, required: true, schema: {type: string}}]
      responses: {"200": {description: sent}, "400": {description: bad}}
  /v1/tiny/plain/codes:""")})
    message = refusal(directory)
    assert "POST /v1/tiny/{way}/codes is claimed twice in tinyhw" in message


def test_a_spec_lacking_what_its_auth_scheme_needs_is_refused(tmp_path):
    # the acs scheme on Huawei's gateway commons: Alibaba's codes and signature settings are missing
    directory = folder(tmp_path, "tinyali.yaml", "tinyali.py", edits={"tinyali.yaml": (
        "  include: [commons/alibaba-rpc.yaml]\n", """\
  include: [commons/huawei-apigw.yaml]
  rpc: {action-header: x-acs-action, action-query: Action}
  auth: {schemes: [acs], failure: APIGW.0301}
  envelopes:
    default: {body: {Code: "{code}"}}
  protocol-errors: {malformed-body: APIGW.0101, unsupported-media-type: APIGW.0101, body-too-large: APIGW.0101,
                    missing-parameter: APIGW.0101, invalid-parameter: APIGW.0101, internal-error: APIGW.0101}
""", "    MissingParameter: {fields: {field: PhoneNumber}}\n", "")})
    message = refusal(directory)
    assert str(directory / "tinyali.yaml") in message
    assert "auth scheme acs needs error MissingParameter" in message and "setting nonce_window_s" in message


def test_a_spec_lacking_what_its_product_module_needs_is_refused(tmp_path):
    directory = folder(tmp_path, "tinyhw.yaml", "tinyhw.py", edits={"tinyhw.yaml": (
        "    code_ttl_s: {default: 300", "    code_lifetime_s: {default: 300")})
    message = refusal(directory)
    assert str(directory / "tinyhw.yaml") in message
    assert "product module tinyhw needs setting code_ttl_s, which tinyhw's spec lacks" in message


def test_an_operation_without_a_handler_is_refused(tmp_path):
    directory = folder(tmp_path, "tinyhw.yaml", "tinyhw.py", edits={"tinyhw.py": (
        '@product.operation("SendTinyCode")', '@product.operation("SendTinyCodes")')})
    message = refusal(directory)
    assert str(directory / "tinyhw.yaml") in message and "tinyhw.SendTinyCode has no handler" in message


def test_a_spec_without_a_product_module_is_refused(tmp_path):
    message = refusal(folder(tmp_path, "tinyhw.yaml"))
    assert "tinyhw.yaml: no product module registers tinyhw" in message


def test_a_shared_part_under_a_name_the_spec_uses_otherwise_is_refused(tmp_path):
    directory = folder(tmp_path, "tinyhw.yaml", "tinyhw.py", edits={"tinyhw.yaml": (
        "  schemas:\n", "  schemas:\n    GatewayErrorBody: {type: object}\n")})
    message = refusal(directory)
    assert str(directory / "tinyhw.yaml") in message
    assert "components.schemas.GatewayErrorBody is defined here and also imported from huawei-apigw.yaml" in message


def test_including_a_product_spec_is_refused(tmp_path):
    directory = folder(tmp_path, "tinyhw.yaml", "tinyhw.py", edits={"tinyhw.yaml": (
        "include: [commons/huawei-apigw.yaml]", "include: [commons/huawei-apigw.yaml, osm.yaml]")})
    message = refusal(directory)
    assert "include osm.yaml is a product spec" in message


# --- from the command line


def otpsim(*args, **options):
    return subprocess.Popen([sys.executable, "-m", "simulator.core.serving.cli", *args], text=True, **options)


def test_otpsim_serve_products_serves_a_folder_of_new_products(tmp_path):
    directory = folder(tmp_path, *ALL)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    served = otpsim("serve", "--port", str(port), "--products", str(directory), "--quiet",
                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        banner = served.stdout.readline()
        assert "tinyali" in banner and "tinyhw" in banner and "osm" in banner, banner
        body = b'{"mobile": "8613800000007"}'
        for _ in range(200):
            try:
                answer = httpx.post(f"http://127.0.0.1:{port}/v1/tiny/codes", content=body,
                                    headers=signed_headers("POST", "/v1/tiny/codes", body, host=f"127.0.0.1:{port}"))
                break
            except httpx.TransportError:
                time.sleep(0.05)
        assert answer.json() == {"code_sent": True}
    finally:
        served.send_signal(signal.SIGINT)
        served.wait(10)


def test_otpsim_refuses_a_folder_that_does_not_fit_naming_the_file_and_the_clash(tmp_path):
    directory = folder(tmp_path, "tinyhw.yaml", "tinyhw.py", edits={
        "tinyhw.yaml": ("/v1/tiny/codes:", "/v2/servicerequest/verifycodes/send:")})
    refused = otpsim("schema", "--products", str(directory), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, stderr = refused.communicate(timeout=60)
    assert refused.returncode == 2
    assert stderr.startswith(f"otpsim: refused at start-up: {directory / 'tinyhw.yaml'}: POST /v2/servicerequest/verifycodes/send")


# --- from a test suite


def test_an_embedded_otpsim_serves_a_folder_of_new_products(tmp_path):
    folder(tmp_path, *ALL)
    with EmbeddedOtpsim(products=["products"], base_dir=tmp_path) as server:
        path, headers = acs3("SendTinyCode", {"PhoneNumber": "8613800000008"}, host=f"127.0.0.1:{server.port}")
        assert httpx.post(server.base_url + path, headers=headers).json()["Code"] == "OK"
        assert server.outbox.latest("8613800000008").code


@pytest.mark.otpsim(products=["seventh_product"])
def test_the_otpsim_fixture_takes_product_folders_from_the_marker(otpsim):
    body = b'{"mobile": "8613800000009"}'
    headers = signed_headers("POST", "/v1/tiny/codes", body, host=f"127.0.0.1:{otpsim.port}")
    assert httpx.post(otpsim.base_url + "/v1/tiny/codes", content=body, headers=headers).json() == {"code_sent": True}
