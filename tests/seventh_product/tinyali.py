"""TinyAli: sends a code to PhoneNumber (a throwaway product for tests/test_seventh_product.py)."""

from simulator.core.product import CodePolicy, ProductModule

CODES = CodePolicy(resend=None)
product = ProductModule("tinyali", needs=CODES.needs)


@product.operation("SendTinyCode")
async def send_tiny_code(call):
    phone = call.params["PhoneNumber"]
    code = await CODES.issue(call, call.principal["access_key_id"], phone)
    await call.send_code("sms", phone, code, f"TinyAli code {code}")
    return {"RequestId": call.request_id, "Code": "OK"}
