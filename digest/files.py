"""File helpers shared by every stage: content hashes and atomic writes."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

from .errors import DigestError


def safe_name(text: str) -> str:
    """`text` as a file name: each run of characters other than letters, digits, "." and "-" made one "_"
    (`hep-th/9901001` -> `hep-th_9901001`)."""
    return re.sub(r"[^\w.-]+", "_", text)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_atomic(path: Path, data: bytes) -> Path:
    """Write `data` to a temporary file beside `path`, then rename it over `path`: readers see old or new, never half."""
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as exc:
        if tmp:
            Path(tmp).unlink(missing_ok=True)
        raise DigestError(f"cannot write {path}: {exc.strerror or exc}; check the path and its permissions") from exc
    return path
