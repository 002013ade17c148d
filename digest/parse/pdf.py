"""The one check that a file is a usable PDF (complete, opens, not encrypted, has pages): fetch, add and parse share it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pymupdf

from ..errors import DigestError, one_line

HEAD = 1024  # a PDF's `%PDF-` header must lie within its first 1024 bytes
TAIL = 1024  # and its `%%EOF` marker within its last 1024
MIN_PAGE_TEXT = 40  # characters a page with a text layer carries at least
NO_TEXT_LAYER = "no text layer (a scan)"
OCR_HINT = ("install Debian's tesseract-ocr (apt-get install tesseract-ocr) and digest reads it by OCR, "
            "or OCR it yourself, e.g. ocrmypdf in.pdf out.pdf")


class PdfError(DigestError):
    """A file that is not a usable PDF. The message says what is wrong (without the path); `remedy` what to do."""

    remedy = "fetch or add it again"


class EncryptedPdf(PdfError):
    """A PDF that needs a password to open (one whose user password is empty opens without asking)."""

    remedy = "then add the decrypted copy"


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
        if doc.needs_pass and not doc.authenticate(""):
            raise EncryptedPdf("encrypted: remove the password, e.g. qpdf --decrypt in.pdf out.pdf")
        if doc.is_repaired:
            raise PdfError("damaged PDF: broken cross-reference table")
        if doc.page_count < 1:
            raise PdfError("damaged PDF: zero pages")
        yield doc


def has_text_layer(doc: pymupdf.Document) -> bool:
    """Whether at least a quarter of the pages carry text (MIN_PAGE_TEXT characters): a scan has none."""
    needed, found = max(1, doc.page_count // 4), 0
    for page in doc:
        found += len(page.get_text().strip()) >= MIN_PAGE_TEXT
        if found >= needed:
            return True
    return False


def ocr_available() -> bool:
    """Whether pymupdf can OCR (Debian's `tesseract-ocr`, with its English data, where pymupdf finds it)."""
    try:
        return (Path(pymupdf.get_tessdata()) / "eng.traineddata").is_file()
    except RuntimeError:  # "Tesseract is not installed"
        return False


def ocr_textpage(page: pymupdf.Page, flags: int) -> pymupdf.TextPage:
    """The text of a page without a text layer, read from its image by tesseract (see `ocr_available`)."""
    return page.get_textpage_ocr(flags=flags, language="eng", dpi=300, full=True)


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
