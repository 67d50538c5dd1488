"""The signature recipes against the vectors the official SDKs produced
(huaweicloudsdkcore/signer/signer.py, alibabacloud_tea_openapi/utils.py, the Meeting App ID recipe)."""

from starlette.datastructures import Headers

from simulator.auth.huawei_aksk import sign, string_to_sign


def test_huawei_sdk_hmac_sha256_vector():
    headers = Headers({
        "content-type": "application/json", "host": "127.0.0.1:8080",
        "user-agent": "huaweicloud-usdk-python/3.0", "x-domain-id": "sim0domain0id",
        "x-sdk-date": "20240101T000000Z",
    })
    body = b'{"contact_value": "13800000000", "contact_way": 0, "area_code": "86"}'
    import hashlib
    text = string_to_sign("POST", "/v2/servicerequest/verifycodes/send", "", headers,
                          ["content-type", "host", "user-agent", "x-domain-id", "x-sdk-date"],
                          hashlib.sha256(body).hexdigest(), "20240101T000000Z")
    assert text.endswith("0975ccc2914d9fb9df1a012015a36c8e20af79b533149d01335af4c0e367545c")
    assert sign("simTestSecretKey0000000000000000000000000", text) == \
        "8890a5d42f6434727df482a85905bdb735d635c09a1daf62b517ca10f7130863"
