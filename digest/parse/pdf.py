"""The one check that a file is a usable PDF (complete, opens, not encrypted, has pages): fetch, add and parse share it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pymupdf

from ..errors import DigestError, one_line

HEAD = 1024  # a PDF's `%PDF-` header must lie within its first 1024 bytes
TAIL = 1024  # and its `%%EOF` marker within its last 1024


class PdfError(DigestError):
    """A file that is not a usable PDF. The message says what is wrong (without the path); `remedy` what to do."""

    remedy = "fetch or add it again"


class EncryptedPdf(PdfError):
    remedy = "provide an unencrypted copy"


def starts_like_pdf(head: bytes) -> bool:
    """Whether a file's first HEAD bytes hold the `%PDF-` header."""
    return b"%PDF-" in head


def describe_start(data: bytes) -> str:
    """The first few characters of some bytes, quoted, for an error message (`nothing` when empty)."""
    text = " ".join(data[:40].decode("latin-1").split())
    return repr(text) if text else "nothing"


@contextmanager
def open_pdf(path: Path) -> Iterator[pymupdf.Document]:
    """The PDF at `path`, open; PdfError saying what is wrong with it otherwise."""
    _check_bytes(path)
    pymupdf.TOOLS.mupdf_display_errors(False)
    try:
        doc = pymupdf.open(path, filetype="pdf")
    except Exception as exc:  # pymupdf raises FileDataError, RuntimeError and its own error types
        raise PdfError(f"damaged PDF: pymupdf cannot open it ({one_line(exc)})") from exc
    with doc:
        if doc.needs_pass:
            raise EncryptedPdf("encrypted PDF (password required)")
        if doc.is_repaired:
            raise PdfError("damaged PDF: broken cross-reference table")
        if doc.page_count < 1:
            raise PdfError("damaged PDF: zero pages")
        yield doc


def check_pdf(path: Path) -> None:
    """PdfError saying what is wrong with a PDF file, if anything."""
    with open_pdf(path):
        pass


def _check_bytes(path: Path) -> None:
    """The file is there, starts with the PDF header and ends with the end marker."""
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            head = f.read(HEAD)
            f.seek(max(0, size - TAIL))
            tail = f.read()
    except FileNotFoundError as exc:
        raise PdfError("file not found") from exc
    if not starts_like_pdf(head):
        raise PdfError(f"not a PDF (it starts with {describe_start(head)})")
    if b"%%EOF" not in tail:
        raise PdfError(f"truncated PDF: no %%EOF end marker in its {size} bytes")
