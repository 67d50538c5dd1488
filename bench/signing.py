"""The signatures of bench/load.lua in Python, for run.py's probes and soak.py's requests;
`now` is the epoch time to sign at (soak.py signs on the simulator's virtual clock).

Written from the SDKs' signing recipes (huaweicloudsdkcore's signer, alibabacloud_tea_openapi),
independently of the server's checks, so a probe that is answered correctly also confirms the recipe.
"""

import base64
import hashlib
import hmac
import time


def _hmac(secret: str, text: str) -> bytes:
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).digest()


def _canonical_headers(headers: dict) -> tuple[str, str]:
    names = sorted(headers)
    return "".join(f"{name}:{headers[name]}\n" for name in names), ";".join(names)


def none(request, key_id, secret, nonce, now) -> dict:
    return dict(request.headers)


def huawei_aksk(request, key_id, secret, nonce, now) -> dict:
    date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
    headers = {**request.headers, "x-sdk-date": date}
    lines, names = _canonical_headers(headers)
    uri = request.path if request.path.endswith("/") else request.path + "/"
    canonical = "\n".join([request.method, uri, request.query, lines, names,
                           hashlib.sha256(request.body).hexdigest()])
    to_sign = f"SDK-HMAC-SHA256\n{date}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    headers["authorization"] = (f"SDK-HMAC-SHA256 Access={key_id}, SignedHeaders={names}, "
                                f"Signature={_hmac(secret, to_sign).hex()}")
    return headers


def wsse(request, key_id, secret, nonce, now) -> dict:
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
    digest = base64.b64encode(_hmac(secret, nonce + created)).decode()
    return {
        **request.headers,
        "authorization": 'AKSK realm="SDP",profile="UsernameToken",type="Appkey"',
        "x-aksk": f'UsernameToken Username="{key_id}",PasswordDigest="{digest}",Nonce="{nonce}",Created="{created}"',
    }


def acs3(request, key_id, secret, nonce, now) -> dict:
    headers = {
        **request.headers,
        "x-acs-date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
        "x-acs-signature-nonce": nonce,
        "x-acs-content-sha256": hashlib.sha256(request.body).hexdigest(),
    }
    lines, names = _canonical_headers(headers)
    canonical = "\n".join([request.method, request.path, request.query, lines, names,
                           headers["x-acs-content-sha256"]])
    to_sign = "ACS3-HMAC-SHA256\n" + hashlib.sha256(canonical.encode()).hexdigest()
    headers["authorization"] = (f"ACS3-HMAC-SHA256 Credential={key_id},SignedHeaders={names},"
                                f"Signature={_hmac(secret, to_sign).hex()}")
    return headers


SIGNERS = {"none": none, "huawei-aksk": huawei_aksk, "wsse": wsse, "acs3": acs3}
