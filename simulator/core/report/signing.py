"""What a request's credentials say, read back from the journal by each auth scheme.

A scheme module registers a reader with `@signature_reader("<scheme name>")`: given a request's
headers (lower-case names), parameters (query and form) and its product's spec (for the scheme's
options there), it returns `Credentials` when the request carries this scheme's credentials, else None. The report uses it for its signing findings
(a reused nonce, a signed time drifting toward the allowed skew, unsigned requests before signed
ones); it runs when a report is read, never on a request.
"""

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Credentials:
    nonce: str | None = None          # a one-time value the vendor remembers
    signed_at: float | None = None    # epoch seconds the signature claims
    skew_setting: str | None = None   # the product setting that bounds |signed_at - clock|


READERS: dict[str, Callable[[dict, dict, object], Credentials | None]] = {}


def signature_reader(scheme: str):
    def register(read):
        READERS[scheme] = read
        return read
    return register


def credential_header_reader(scheme: str, header: str):
    """A reader for a scheme whose credential is one header (a token, a client id): no nonce, no time."""
    return signature_reader(scheme)(lambda headers, params, product: Credentials() if headers.get(header) else None)
