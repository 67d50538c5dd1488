"""What the voice tests share: WSSE-signed calls, a real push receiver, the spec's push schemas."""

import base64
import json
import threading
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import yaml
from jsonschema import Draft202012Validator

from simulator.auth.wsse import header_pair, password_digest
from simulator.core.packaged import packaged
from simulator.core.spec import spec_dir

CALL_VERIFY = "/rest/httpsessions/callVerify/v1.0"
APP_KEY = "sim-voice-app-key-0001"
APP_SECRET = "sim-app-secret-0001"
T0 = datetime(2026, 1, 1, 8, 0, 0, tzinfo=timezone.utc)


def aksk_headers(created: datetime = T0, nonce: str | None = None, app_key=APP_KEY, secret=APP_SECRET) -> dict:
    created_text = created.strftime("%Y-%m-%dT%H:%M:%SZ")
    nonce = nonce or uuid.uuid4().hex
    return header_pair(app_key, password_digest(secret, nonce + created_text), nonce, created_text)


def b64(url: str) -> str:
    return base64.b64encode(url.encode()).decode()


def verify_body(callee="+8613800000001", **fields) -> dict:
    return {"displayNbr": "+8653159511234", "calleeNbr": callee, "languageType": 2,
            "preTone": "pretone.wav", "verifyCode": "123456", **fields}


def call_verify(client, body: dict, headers: dict | None = None):
    return client.post(CALL_VERIFY, content=json.dumps(body).encode(),
                       headers={"content-type": "application/json;charset=UTF-8", **(headers or aksk_headers())})


def freeze_clock(client, at: datetime = T0):
    client.post("/__otpsim/clock", json={"mode": "manual", "set": at.isoformat()})


def advance(client, seconds: float):
    """Move the virtual clock; the admin call returns once the pushes now due have been made."""
    assert client.post("/__otpsim/clock", json={"advance": seconds}).status_code == 200


def use_scenario(client, settings: dict | None = None, rules: list | None = None):
    """The default scenario (its credentials) with voice settings and rules of the test's own."""
    document = yaml.safe_load((packaged("scenarios") / "default.yaml").read_text())
    document["products"] = {"voice": settings or {}}
    document["rules"] = rules or []
    response = client.put("/__otpsim/scenario", content=json.dumps(document))
    assert response.status_code == 200, response.text


def outcome_rule(outcome: str) -> dict:
    return {"name": outcome, "match": {"operation": "voice.CallVerify"}, "call": {"outcome": outcome}}


def place(client, body) -> str:
    """A CallVerify that must succeed; its sessionId."""
    response = call_verify(client, body)
    assert response.status_code == 200, response.text
    RESULT_SCHEMA.validate(response.json())
    return response.json()["sessionId"]


def deliveries(client, kind: str) -> list:
    return client.get("/__otpsim/callbacks", params={"kind": kind}).json()


class Receiver:
    """A real HTTP server on 127.0.0.1 that records each push (JSON or form body) and answers `status[path]` (200 by default)
    with `body`, or the next of `replies`, (status, body bytes) pairs, while there are any."""

    def __init__(self, body: bytes = b""):
        self.pushes: list[dict] = []
        self.status: dict[str, int] = {}
        self.body = body
        self.replies: list[tuple[int, bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("content-length", 0)))
                form = self.headers.get("content-type", "").startswith("application/x-www-form-urlencoded")
                body = dict(parse_qsl(raw.decode(), keep_blank_values=True)) if form else json.loads(raw)
                receiver.pushes.append({"path": self.path, "headers": dict(self.headers), "body": body, "raw": raw})
                status, body = receiver.replies.pop(0) if receiver.replies else (receiver.status.get(self.path, 200), receiver.body)
                self.send_response(status)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def bodies(self, path: str) -> list:
        return [push["body"] for push in self.pushes if push["path"] == path]

    def events(self, path: str = "/status") -> list:
        return [body["eventType"] for body in self.bodies(path)]


def _spec_validator(schema_name: str) -> Draft202012Validator:
    document = yaml.safe_load((spec_dir() / "voice.yaml").read_text())
    return Draft202012Validator({"$ref": f"#/components/schemas/{schema_name}", "components": document["components"]})


STATUS_SCHEMA = _spec_validator("StatusEvent")
FEE_SCHEMA = _spec_validator("FeeEvent")
RESULT_SCHEMA = _spec_validator("Result")
