"""Sign raw test requests the way the Huawei SDK does (the recipe is checked against a vector
huaweicloudsdkcore's signer produced)."""

import hashlib
from datetime import datetime, timezone

from simulator.auth.huawei_aksk import sign, string_to_sign

AK = "SIMTESTAK0000000000"
SK = "simTestSecretKey0000000000000000000000000"


def signed_headers(method, path, body: bytes = b"", query: str = "", host="127.0.0.1:8080", ak=AK, sk=SK,
                   when: datetime | None = None, extra: dict | None = None) -> dict:
    sdk_date = (when or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    headers = {"content-type": "application/json", "host": host, "x-sdk-date": sdk_date, **(extra or {})}
    names = sorted(headers)
    text = string_to_sign(method, path, query, headers, names, hashlib.sha256(body).hexdigest(), sdk_date)
    headers["authorization"] = f"SDK-HMAC-SHA256 Access={ak}, SignedHeaders={';'.join(names)}, Signature={sign(sk, text)}"
    return headers
