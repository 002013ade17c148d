"""Tar shards of PDFs, as arXiv publishes its full PDF set (`arXiv_pdf_2301_001.tar`: `2301/2301.00001v1.pdf`, …),
read as a stream: one member's bytes at a time, nothing unpacked to disk."""

from __future__ import annotations

import lzma
import re
import tarfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from .errors import DigestError, one_line

TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
_OLD_STYLE = re.compile(r"^(?P<archive>[a-z][a-z\-]*(?:\.[A-Z]{2})?)(?P<number>\d{7}(?:v\d+)?\.pdf)$")

OnSkip = Callable[[str, str], None]  # (member name, why it was skipped)


class ShardError(DigestError):
    """A shard that cannot be read to its end: `path` and `problem` (what is wrong, one line)."""

    def __init__(self, path: Path | str, problem: str):
        super().__init__(f"{path} {problem}")
        self.path, self.problem = path, problem


def _ignore_skip(member: str, why: str) -> None:
    """The `on_skip` of a caller that does not report skipped members."""


def is_tar_name(path: Path) -> bool:
    return path.name.lower().endswith(TAR_SUFFIXES)


def pdf_filename(member: str) -> str:
    """The file name a member's PDF goes by (for `ids.id_from_filename`): its base name, an old-style arXiv
    id as arXiv writes it in its shards (`hep-th9901001v1.pdf`) given its archive's underscore."""
    name = member.rsplit("/", 1)[-1]
    m = _OLD_STYLE.match(name)
    return f"{m.group('archive')}_{m.group('number')}" if m else name


def iter_pdfs(path: Path | str, fileobj: BinaryIO | None = None,
              on_skip: OnSkip = _ignore_skip) -> Iterator[tuple[str, bytes]]:
    """(member name, bytes) for each `*.pdf` member of the tar file at `path` (plain, gzip, bzip2 or xz), in
    archive order, one member in memory at a time; read from `fileobj` when given (`path` then only names it).
    Other members go to `on_skip` with the reason (folders silently). ShardError naming the shard when it is
    unreadable, not a tar file, or ends before its end-of-archive marker (truncated, corrupt); what was yielded
    before stays good. The bytes are not checked: a member named .pdf may hold anything."""
    if fileobj is not None:
        yield from _members(path, fileobj, on_skip)
        return
    try:
        fh = open(path, "rb")
    except OSError as exc:
        raise ShardError(path, f"cannot be read: {exc.strerror or one_line(exc)}") from exc
    with fh:
        yield from _members(path, fh, on_skip)


def _members(path: Path | str, fileobj: BinaryIO, on_skip: OnSkip) -> Iterator[tuple[str, bytes]]:
    ended = False

    class Member(tarfile.TarInfo):
        @classmethod
        def fromtarfile(cls, tar):
            nonlocal ended
            try:
                return super().fromtarfile(tar)
            except tarfile.EOFHeaderError:  # the zero block that ends an archive: missing when it was cut short
                ended = True
                raise

    count = 0
    try:
        with tarfile.open(mode="r|*", fileobj=fileobj, tarinfo=Member) as tar:
            for member in tar:
                if member.isdir():
                    continue
                if not member.isfile():
                    on_skip(member.name, "not a regular file")
                elif not member.name.lower().endswith(".pdf"):
                    on_skip(member.name, "not a PDF")
                else:
                    yield member.name, tar.extractfile(member).read()
                    count += 1
    except (tarfile.TarError, EOFError, zlib.error, lzma.LZMAError, OSError) as exc:
        raise _broken(path, count, one_line(exc)) from exc
    if not ended:
        raise _broken(path, count, "no end-of-archive marker")


def _broken(path: Path | str, count: int, why: str) -> ShardError:
    if count == 0 and why in ("empty file", "invalid header", "truncated header", "bad checksum"):
        return ShardError(path, f"is not a tar file, or is cut short ({why}): give tar files of PDFs, "
                                "such as arXiv's bulk PDF shards")
    return ShardError(path, f"is truncated or damaged ({why}) after {count} PDFs: download it again")
