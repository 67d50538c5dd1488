"""Routing at run time: products whose specs declare their hosts share an RPC action, and the Host picks one."""

from pathlib import Path

from starlette.testclient import TestClient

from alibaba_signing import acs3
from simulator.core.compose import build_parts, simulator_from_texts

TINYALI = Path(__file__).resolve().parent / "seventh_product"


def test_the_host_picks_between_products_that_share_an_rpc_action(tmp_path):
    for product, host in (("tinyali", "tinyali.aliyuncs.com"), ("tinytwin", "tinytwin.aliyuncs.com")):
        spec = (TINYALI / "tinyali.yaml").read_text(encoding="utf-8").replace("tinyali", product)
        spec = spec.replace(f"  product: {product}\n", f"  product: {product}\n  hosts: [{host}]\n")
        (tmp_path / f"{product}.yaml").write_text(spec, encoding="utf-8")
        module = (TINYALI / "tinyali.py").read_text(encoding="utf-8").replace("tinyali", product)
        (tmp_path / f"{product}.py").write_text(module, encoding="utf-8")
    client = TestClient(simulator_from_texts([], parts=build_parts([tmp_path])), base_url="http://127.0.0.1:8080")
    for phone, host, product in (("8613800000077", "tinytwin.aliyuncs.com", "tinytwin"),
                                 ("8613800000078", "TinyAli.aliyuncs.com:8080", "tinyali")):
        path, headers = acs3("SendTinyCode", {"PhoneNumber": phone}, host=host)
        sent = client.post(path, headers=headers)
        assert sent.status_code == 200, sent.text
        assert client.get("/__otpsim/outbox/latest", params={"to": phone}).json()["product"] == product
