"""A hundred concurrent cams GetMigrationVerifyCode calls from one caller, each to its own number:
what the per-caller flow control (10 a second) is tested with, in process and across workers."""

import asyncio

import httpx

from alibaba_signing import acs3

SPACE = "29348393884001"


def burst(**client_options) -> list[tuple[int, str]]:
    """(status, Code) of each of the hundred answers, sent at once through httpx.AsyncClient(**client_options)."""
    async def send_all():
        async with httpx.AsyncClient(**client_options) as client:
            requests = []
            for index in range(100):
                path, headers = acs3("GetMigrationVerifyCode", {
                    "CustSpaceId": SPACE, "PhoneNumber": f"86138000{index:05d}", "Locale": "zh_CN", "Method": "sms"})
                requests.append(client.post(path, headers=headers))
            return await asyncio.gather(*requests)
    return [(r.status_code, r.json()["Code"]) for r in asyncio.run(send_all())]
