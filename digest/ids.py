"""arXiv identifiers in every form people paste, reduced to one canonical form."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import shorten

_NEW = r"(?P<new>\d{4}\.\d{4,5})"
_OLD = r"(?P<old>[a-z][a-z\-]*(?:\.[A-Z]{2})?/\d{7})"
_ID = re.compile(rf"^(?:{_NEW}|{_OLD})(?:v(?P<version>\d+))?$", re.IGNORECASE)
_IN_NAME = re.compile(
    r"(?<![\d.])(?P<new>\d{4}\.\d{4,5}(?:v\d+)?)(?![\d])|(?P<archive>[a-z][a-z\-]*(?:\.[A-Z]{2})?)_(?P<number>\d{7}(?:v\d+)?)",
    re.I,
)
_URL = re.compile(
    r"^(?:https?://)?(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html)/(?P<rest>.+?)(?:\.pdf)?/?(?:[?#].*)?$", re.I
)


class InvalidId(ValueError):
    """Text that is not an arXiv id; `reason` says why without repeating the text (for lines that name it)."""

    def __init__(self, text: str, reason: str):
        super().__init__(f"{shorten(text)!r} is {reason}")
        self.reason = reason


@dataclass(frozen=True)
class ArxivId:
    """`base` is the id without version (`2302.13971`, `hep-th/9901001`); `version` may be None."""

    base: str
    version: int | None = None

    def __str__(self) -> str:
        return f"{self.base}v{self.version}" if self.version else self.base

    @property
    def filename(self) -> str:
        """A file name that cannot leave its folder: `hep-th/9901001` -> `hep-th_9901001`."""
        return self.base.replace("/", "_")


def parse_id(text: str) -> ArxivId:
    """`arXiv:2302.13971v1`, `https://arxiv.org/pdf/2302.13971v2.pdf`, `hep-th/9901001`... -> ArxivId."""
    s = text.strip()
    url = _URL.match(s)
    if url:
        s = url.group("rest")
    s = re.sub(r"^arxiv:\s*", "", s, flags=re.I)
    m = _ID.match(s)
    if not m:
        raise InvalidId(text, "not an arXiv id (expected e.g. 2302.13971, arXiv:2302.13971v2 or hep-th/9901001)")
    base = m.group("new") or m.group("old")
    if m.group("new") and not _plausible_new_id(base):
        raise InvalidId(text, "not an arXiv id: YYMM.NNNN until 1412, YYMM.NNNNN from 1501 (e.g. 2302.13971)")
    if m.group("old"):
        archive, number = base.split("/")
        area, _, subject = archive.partition(".")
        base = f"{area.lower()}{'.' + subject.upper() if subject else ''}/{number}"
    version = int(m.group("version")) if m.group("version") else None
    return ArxivId(base, version)


def paper_key(text: str) -> str:
    """The catalog key of a paper named in any form: an arXiv id's base, or a local paper's id as given."""
    try:
        return parse_id(text).base
    except InvalidId:
        return text.strip()


def _plausible_new_id(base: str) -> bool:
    """A real month, and the number of digits arXiv used that month (4 until Dec 2014, 5 since)."""
    yymm, number = base.split(".")
    return 1 <= int(yymm[2:]) <= 12 and (len(number) == 5) == (yymm >= "1501")


def id_from_filename(name: str) -> ArxivId | None:
    """The arXiv id in a file name such as `2302.13971v2.pdf` or `hep-th_9901001.pdf`, if there is one."""
    for m in _IN_NAME.finditer(name):
        try:
            return parse_id(m.group("new") or f"{m.group('archive')}/{m.group('number')}")
        except InvalidId:
            continue
    return None
