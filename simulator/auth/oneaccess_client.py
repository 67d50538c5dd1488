"""OneAccess SDK APIs: the `X-client-id` header names a registered application (the API pages named in
openapi/oneaccess.yaml).

There is no signature; the client id alone identifies the application. Credentials:
`oneaccess_clients` entries ({client_id}). A missing or empty id is `APP.0002`, an unknown one
`APP.0001` (the OneAccess error codes, https://huaweicloud.com/s/JeWNjuS4uuacjeWKoeS6keWumOe9kSU/t_30_p_2/JeW6lOeUqOi6q-S7veeuoeeQhuacjeWKoSBPbmVBY2Nlc3Ml). The other required headers are the spec's to enforce.
"""

from simulator.core.pipeline.auth import Principal, scheme
from simulator.core.product import CredentialKind
from simulator.core.errors import SimError
from simulator.core.report.signing import credential_header_reader
from simulator.core.wiring import Needs

credential_header_reader("oneaccess-client", "x-client-id")


@scheme("oneaccess-client", credentials={"oneaccess_clients": CredentialKind(
    required=("client_id",), description="OneAccess applications, by the X-client-id they call with")},
        needs=Needs(errors=("APP.0001", "APP.0002")))
async def check(call):
    client_id = call.headers.get("x-client-id")
    if not client_id:
        raise SimError("APP.0002")
    application = call.world.credentials.find("oneaccess_clients", client_id=client_id)
    if application is None:
        raise SimError("APP.0001")
    return Principal("oneaccess-client", application)
