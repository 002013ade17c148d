"""The live index version, and the check of its ONNX query encoder's files, which a query starts first of all.

Hashing the export's files (~90 MB: a tenth of a second, GIL released) is the longest part of loading the query
encoder, so a query command starts it (`check_soon`) before numpy, faiss and the rest are imported, and
`embed_onnx` waits for the result (`verification`) before it uses the export. This module and the check's thread
import the standard library only: an import racing the main thread's can find a C extension (numpy's) half
initialized, so work that needs one is started after the main thread has imported it (`embed_onnx.load_soon`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import Future
from functools import lru_cache
from pathlib import Path
from typing import Any

from .files import sha256_file

POINTER = "CURRENT"


def live_version(root: Path) -> Path | None:
    """The live version folder under index folder `root`, if there is one."""
    try:
        name = (root / POINTER).read_text().strip()
    except FileNotFoundError:
        return None
    path = root / name
    return path if name and (path / "meta.json").is_file() else None


def live_meta(root: Path) -> dict:
    """The meta of the live version under index folder `root`; {} where there is none or it is unreadable
    (`Index.open` says what is wrong)."""
    version = live_version(root)
    try:
        return version_meta(version) if version else {}
    except (OSError, ValueError):
        return {}


def version_meta(version: Path) -> dict:
    """A version folder's meta.json, parsed once per process for the file as it is now (a query reads it before
    its heavy imports and again when it opens the index; it grows with the corpus). Shared: do not change it."""
    return _parsed(version / "meta.json", stamp(version, ["meta.json"]))


@lru_cache(maxsize=8)
def _parsed(path: Path, _stamp: tuple) -> dict:
    return json.loads(path.read_text())


def check_soon(meta: dict, root: Path) -> None:
    """Start checking the files of an index version's ONNX export, if it has one, against their checksums
    (`meta`: the version's, `root`: the index folder)."""
    record = meta.get("encoder") or {}
    if record.get("path"):
        verification(root / record["path"], record["sha256"])


def verification(folder: Path, checksums: dict[str, str]) -> Future:
    """A future of the first file of `checksums` (name -> sha256) in `folder` that differs or is gone, else
    None; computed once per process for the files as they are now (a file replaced since has another inode or
    mtime, and is checked again)."""
    return in_background(_damaged, folder, tuple(sorted(checksums.items())), stamp(folder, sorted(checksums)))


def stamp(folder: Path, names: list[str]) -> tuple:
    """What tells a file replaced since: inode, size and mtime of each of `names` (None where missing)."""
    out = []
    for name in names:
        try:
            stat = (folder / name).stat()
            out.append((name, stat.st_ino, stat.st_size, stat.st_mtime_ns))
        except OSError:
            out.append((name, None))
    return tuple(out)


@lru_cache(maxsize=16)
def in_background(work: Callable, folder: Path, *args: Any) -> Future:
    """A future of `work(folder, *args)`, run once per process and arguments in a thread of its own (the last
    argument is a `stamp`: files changed since are worked on again)."""
    future: Future = Future()

    def run() -> None:
        try:
            future.set_result(work(folder, *args[:-1]))
        except BaseException as exc:  # handed to whoever waits for the result
            future.set_exception(exc)

    # not a daemon: a process that ended while ONNX Runtime builds a session would abort ("terminate called …")
    threading.Thread(target=run, name=f"digest-{work.__name__.strip('_')}").start()
    return future


def _damaged(folder: Path, checksums: tuple[tuple[str, str], ...]) -> str | None:
    """The first file of `checksums` (name, sha256) whose sha256 differs (or that is gone), else None."""
    for name, expected in checksums:
        try:
            if sha256_file(folder / name) != expected:
                return name
        except OSError:
            return name
    return None
