"""The generator behind every drawn value (codes, ids, tokens, scenario draws): random.Random's
methods over BLAKE2b blocks of a seed text, through the two methods random.Random documents for a
generator of one's own, `random()` and `getrandbits()`. Seeding the Mersenne Twister takes about
4.4 µs, and a request seeds one or two: the largest single cost of a request (docs/performance.md,
Shaped for speed). A Draw is seeded once, by its text; the same text gives the same values."""

import hashlib
import random

BLOCK_BYTES = 64   # BLAKE2b's largest digest


class Draw(random.Random):
    def __init__(self, text: str):   # random.Random's own seeding (the twister's) is not used
        self._key = text.encode()
        self._blocks = 0
        self._pool = b""
        self.gauss_next = None

    def seed(self, *args, **kwargs):
        raise TypeError("a Draw is seeded by its text, once")

    def getrandbits(self, k: int) -> int:
        if k < 0:
            raise ValueError("number of bits must be non-negative")
        needed = (k + 7) // 8
        while len(self._pool) < needed:
            self._blocks += 1
            self._pool += hashlib.blake2b(self._key, digest_size=BLOCK_BYTES,
                                          salt=self._blocks.to_bytes(16, "little")).digest()
        chunk, self._pool = self._pool[:needed], self._pool[needed:]
        return int.from_bytes(chunk, "little") >> (needed * 8 - k)

    def random(self) -> float:
        return self.getrandbits(53) * 2.0 ** -53
