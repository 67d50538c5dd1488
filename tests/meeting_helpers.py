"""What the meeting tests share: logins, the send and verify calls."""

import base64

from simulator.products.meeting import app_signature

ACCOUNT, PASSWORD = "sim-user@example.com", "Sim-Passw0rd!"
APP_ID, APP_KEY = "sim-app-id-0001", "sim-app-key-0001"
SEND = "/v1/usg/dcs/member/verification-code"
VERIFY = "/v1/usg/dcs/member/verification-code/verify"
PHONE = "+8613800000000"


def basic(account=ACCOUNT, password=PASSWORD) -> str:
    return "Basic " + base64.b64encode(f"{account}:{password}".encode()).decode()


def account_login(client, password=PASSWORD, client_type=72):
    return client.post("/v1/usg/acs/auth/account", headers={"Authorization": basic(password=password)},
                       json={"account": ACCOUNT, "clientType": client_type})


def app_login(client, expire_time, app_key=APP_KEY, user_id="user-1", nonce="57f3d111-e02a-4fb9-9878-554627feaf9d"):
    signature = app_signature(app_key, APP_ID, user_id, expire_time, nonce)
    access = base64.b64encode(APP_ID.encode()).decode()
    body = {"appId": APP_ID, "userId": user_id, "corpId": None, "expireTime": expire_time, "nonce": nonce,
            "clientType": 72, "deptCode": None}
    return client.post("/v2/usg/acs/auth/appauth", json=body,
                       headers={"Authorization": f"HMAC-SHA256 signature={signature},access={access}"})


def token(client) -> dict:
    return {"X-Access-Token": account_login(client).json()["accessToken"]}


def manual_clock(client) -> float:
    return client.post("/__otpsim/clock", json={"mode": "manual"}).json()["epoch"]


def send_and_read(client, headers, contact=PHONE, **extra_headers) -> dict:
    sent = client.post(SEND, headers={**headers, **extra_headers}, json={"contact": contact, "country": "chinaPR"})
    assert sent.status_code == 200 and sent.content == b""
    return client.get("/__otpsim/outbox/latest", params={"to": contact}).json()


def verify(client, headers, code, contact=PHONE):
    return client.post(VERIFY, headers=headers, json={"contact": contact, "verificationCode": code, "country": "chinaPR"})


def other_than(code: str) -> str:
    return "000000" if code != "000000" else "111111"
