"""Request headers with constant-time lookups (why: docs/performance.md, Shaped for speed).

The raw list is decoded once into a dict, with Starlette's meaning: names are case-insensitive,
the first of repeated headers wins, getlist gives every value.
"""

from starlette.datastructures import Headers

_ABSENT = object()


class RequestHeaders(Headers):
    def __init__(self, scope):
        super().__init__(scope=scope)
        self._first = {}
        self._repeated = set()
        for key, value in self._list:
            name = key.decode("latin-1")
            if name in self._first:
                self._repeated.add(name)
            else:
                self._first[name] = value.decode("latin-1")

    def __getitem__(self, key: str) -> str:
        return self._first[key.lower()]

    def __contains__(self, key) -> bool:
        return key.lower() in self._first

    def get(self, key: str, default=None):
        # the stages ask in lower case: one lookup, and lower() only for other spellings or a miss
        value = self._first.get(key, _ABSENT)
        return self._first.get(key.lower(), default) if value is _ABSENT else value

    def getlist(self, key: str) -> list[str]:
        name = key.lower()
        if name in self._repeated:
            return super().getlist(key)
        return [self._first[name]] if name in self._first else []
