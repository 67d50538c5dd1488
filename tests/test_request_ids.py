"""Request ids are the version-4 UUIDs the uuid module would make from the same random bits."""

import random
import uuid

from simulator.core.pipeline.envelope import new_request_id


def test_uuid_formats_match_the_uuid_module():
    ids, bits = random.Random(7), random.Random(7)
    for _ in range(2000):
        expected = str(uuid.UUID(int=bits.getrandbits(128), version=4))
        assert new_request_id(ids, "uuid") == expected
    assert new_request_id(random.Random(3), "uuid-upper") == str(uuid.UUID(int=random.Random(3).getrandbits(128), version=4)).upper()
    assert new_request_id(random.Random(3), "hex32") == f"{random.Random(3).getrandbits(128):032x}"
