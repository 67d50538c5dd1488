"""TinyHw: sends a code to a mobile number (a throwaway product for tests/test_seventh_product.py)."""

from simulator.core.product import CodePolicy, ProductModule

CODES = CodePolicy(resend=None)
product = ProductModule("tinyhw", needs=CODES.needs)


@product.operation("SendTinyCode")
async def send_tiny_code(call):
    mobile = call.body["mobile"]
    code = CODES.issue(call, call.principal["ak"], mobile)
    call.send_code("sms", mobile, code, f"TinyHw code {code}")
    return {"code_sent": True}
