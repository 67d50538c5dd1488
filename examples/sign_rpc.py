"""Print an Alibaba Cloud RPC (signature v2, HMAC-SHA1) signed query for otpsim's cams, for curl.

    python3 examples/sign_rpc.py ACTION KEY=VALUE...
    curl -s -X POST "http://127.0.0.1:8080/?$(python3 examples/sign_rpc.py GetMigrationVerifyCode \
        CustSpaceId=29348393884001 PhoneNumber=8613800000000 Locale=zh_CN Method=sms)"

Standard library only. It signs with the documented test credentials of scenarios/default.yaml;
set OTPSIM_ACCESS_KEY_ID and OTPSIM_ACCESS_KEY_SECRET for others. How the signature is made:
https://www.alibabacloud.com/help/en/sdk/product-overview/rpc-mechanism
"""

import base64
import hashlib
import hmac
import os
import sys
import uuid
from datetime import datetime, timezone
from urllib.parse import quote, urlencode

ACCESS_KEY_ID = os.environ.get("OTPSIM_ACCESS_KEY_ID", "LTAIsimTestKeyId00")
ACCESS_KEY_SECRET = os.environ.get("OTPSIM_ACCESS_KEY_SECRET", "simTestAccessKeySecret000000000")
VERSION = "2020-06-06"   # the cams API version


def _encode(text: str) -> str:
    return quote(text, safe="~")


def signed_query(action: str, params: dict, method: str = "POST") -> str:
    query = {"Action": action, "Version": VERSION, "Format": "json", "AccessKeyId": ACCESS_KEY_ID,
             "SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0", "SignatureNonce": uuid.uuid4().hex,
             "Timestamp": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), **params}
    canonical = "&".join(f"{_encode(k)}={_encode(v)}" for k, v in sorted(query.items()))
    string_to_sign = f"{method}&{_encode('/')}&{_encode(canonical)}"
    digest = hmac.new(f"{ACCESS_KEY_SECRET}&".encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return urlencode({**query, "Signature": base64.b64encode(digest).decode()})


if __name__ == "__main__":
    if len(sys.argv) < 2 or not all("=" in arg for arg in sys.argv[2:]):
        sys.exit("usage: python3 examples/sign_rpc.py ACTION KEY=VALUE...")
    print(signed_query(sys.argv[1], dict(arg.split("=", 1) for arg in sys.argv[2:])))
