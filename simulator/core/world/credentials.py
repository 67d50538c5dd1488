"""The scenario's `credentials`: who may call, found by the fields a scheme or product knows them by."""


class Credentials:
    """Lists of entries by kind (`alibaba`, `voice_apps`, ...; each kind is declared by the auth scheme
    or product that reads it). `find` is a dict lookup: an index per (kind, fields) is built on first use."""

    def __init__(self, document: dict):
        self._kinds = {kind: list(entries or []) for kind, entries in document.items()}
        self._indexes: dict[tuple, dict] = {}

    def find(self, kind: str, **fields) -> dict | None:
        """The first `kind` entry whose fields have these values, e.g. find("alibaba", access_key_id=key)."""
        names = tuple(fields)
        index = self._indexes.get((kind, names))
        if index is None:
            index = {}
            for entry in self._kinds.get(kind, ()):
                index.setdefault(tuple(entry.get(name) for name in names), entry)
            self._indexes[(kind, names)] = index
        return index.get(tuple(fields.values()))
