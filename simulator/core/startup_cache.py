"""Start-up work kept between runs: the parsed spec files and the generated request validators,
each under the hash of what it was made from, so a changed spec is simply made afresh.

Kept in `$OTPSIM_CACHE_DIR`, else `$XDG_CACHE_HOME/otpsim`, else `~/.cache/otpsim`, one folder per
Python version (marshal's format is its own); `OTPSIM_CACHE_DIR=off` keeps nothing. A cache that
cannot be read or written is only slower: the work is done as if there were none.
"""

import hashlib
import marshal
import os
import sys
from pathlib import Path

CACHE_ENVIRONMENT = "OTPSIM_CACHE_DIR"


def cache_dir() -> Path | None:
    chosen = os.environ.get(CACHE_ENVIRONMENT)
    if chosen == "off":
        return None
    base = Path(chosen) if chosen else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "otpsim"
    return base / f"py{sys.version_info[0]}{sys.version_info[1]}"


def cached(kind: str, source: bytes, make):
    """What `make()` returns for `source` (plain data or a code object, as marshal keeps them): from
    the cache when it holds it, else made and kept."""
    folder = cache_dir()
    if folder is None:
        return make()
    path = folder / kind / f"{hashlib.sha256(source).hexdigest()}.marshal"
    try:
        return marshal.loads(path.read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        pass
    made = make()
    try:
        data = marshal.dumps(made)
        path.parent.mkdir(parents=True, exist_ok=True)
        scratch = path.with_suffix(f".{os.getpid()}.tmp")
        scratch.write_bytes(data)
        os.replace(scratch, path)   # whole or absent, for a concurrent reader
    except (OSError, ValueError):   # unwritable, or a value marshal cannot keep (a YAML timestamp)
        pass
    return made
