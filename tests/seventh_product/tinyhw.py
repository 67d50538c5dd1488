"""TinyHw: sends a code to a mobile number (a throwaway product for tests/test_seventh_product.py)."""

from simulator.core.product import CodePolicy, ProductModule

CODES = CodePolicy(resend=None)
product = ProductModule("tinyhw", needs=CODES.needs)


@product.operation("SendTinyCode")
async def send_tiny_code(call):
    return await _send(call, "sms")


@product.operation("SendTinyCodeBy")
async def send_tiny_code_by(call):
    return await _send(call, call.path_params["channel"])   # from the path template /v1/tiny/{channel}/codes


async def _send(call, channel: str) -> dict:
    mobile = call.body["mobile"]
    code = await CODES.issue(call, call.principal["ak"], mobile)
    await call.send_code(channel, mobile, code, f"TinyHw code {code}")
    return {"code_sent": True}
