"""TinyHw: sends a code to a mobile number (a throwaway product for tests/test_seventh_product.py)."""

from simulator.core.product import CodePolicy, ProductModule

CODES = CodePolicy(resend=None)
product = ProductModule("tinyhw", needs=CODES.needs)


@product.operation("SendTinyCode")
async def send_tiny_code(call):
    return _send(call, "sms")


@product.operation("SendTinyCodeBy")
async def send_tiny_code_by(call):
    return _send(call, call.path_params["channel"])   # from the path template /v1/tiny/{channel}/codes


def _send(call, channel: str) -> dict:
    mobile = call.body["mobile"]
    code = CODES.issue(call, call.principal["ak"], mobile)
    call.send_code(channel, mobile, code, f"TinyHw code {code}")
    return {"code_sent": True}
