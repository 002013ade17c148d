"""The corpus: PDFs in `corpus/pdf/` and their catalog rows. Storing a checked PDF, importing local ones (files,
folders, tar shards), removing.

A PDF is written to a hidden `.<name>.<pid>.part` file in `corpus/pdf/`, checked, hashed and renamed into place
before its catalog row says `ok`, so a killed run leaves at most a `.part` file, which the next run deletes.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Protocol

from .catalog import Catalog
from .errors import one_line
from .files import sha256_file
from .ids import ArxivId
from .models import PaperRecord
from .outcome import OnProgress, OnResult, Outcome, Stage, Status, ignore_progress, ignore_result
from .parse.identify import LocalIdentity, identify_pdf
from .parse.pdf import NO_TEXT_LAYER, OCR_HINT, PdfError, ocr_available
from .settings import Settings
from .shards import OnSkip, ShardError, is_tar_name, iter_pdfs, pdf_filename

_PART = re.compile(r"^\..+\.(?P<pid>\d+)\.part$")


class Corpus:
    """The PDFs in `corpus/pdf/` and their catalog rows."""

    def __init__(self, settings: Settings, catalog: Catalog):
        self.settings = settings
        self.catalog = catalog
        settings.pdf_dir.mkdir(parents=True, exist_ok=True)
        self.sweep_partials()

    def intact(self, record: PaperRecord | None) -> bool:
        """Whether the catalog says `ok` and the file on disk is the one it recorded."""
        if not record or record.status != "ok" or not record.pdf_path or not record.sha256:
            return False
        path = self.settings.workspace / record.pdf_path
        return path.is_file() and path.stat().st_size == record.bytes and sha256_file(path) == record.sha256

    def temp_path(self, filename: str) -> Path:
        return self.settings.pdf_dir / f".{filename}.{os.getpid()}.part"

    def install(self, tmp: Path, filename: str, sha: str) -> dict:
        """Sync a checked PDF (`sha` its hash) and rename it into place; its catalog fields."""
        with tmp.open("rb") as f:
            os.fsync(f.fileno())
        final = self.settings.pdf_dir / f"{filename}.pdf"
        os.replace(tmp, final)
        return {"pdf_path": final.relative_to(self.settings.workspace).as_posix(), "sha256": sha,
                "bytes": final.stat().st_size, "status": "ok", "error": None}

    def sweep_partials(self) -> None:
        """Delete the `.part` files of runs that died (their process is gone)."""
        for path in self.settings.pdf_dir.glob(".*.part"):
            m = _PART.match(path.name)
            if m and not _alive(int(m.group("pid"))):
                path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, but another user's
        pass
    return True


def paper_outcome(record: PaperRecord, stage: Stage, status: Status, error: str | None = None,
                  warnings: list[str] | None = None) -> Outcome:
    """The outcome of fetching or adding a paper, with what the catalog knows of it."""
    detail = {"version": record.version, "title": record.title, "bytes": record.bytes, "source": record.source}
    return Outcome(record.paper_id, stage, status, error, detail, tuple(warnings or ()))


# ------------------------------------------------------------------------------------------------ local PDFs


def local_pdfs(paths: list[Path]) -> list[Path]:
    """The PDFs named, with folders expanded to the `*.pdf` files inside them."""
    return _files_in(paths, lambda p: p.suffix.lower() == ".pdf")


def shard_files(paths: list[Path]) -> list[Path]:
    """The tar files named, with folders expanded to the tar files inside them."""
    return _files_in(paths, is_tar_name)


def _files_in(paths: list[Path], wanted: Callable[[Path], bool]) -> list[Path]:
    """`paths`, each folder replaced by the files inside it (recursively, sorted) whose path `wanted` accepts."""
    files = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if wanted(p) and p.is_file())
        else:
            files.append(path)
    return files


class Description(Protocol):
    """What a reference manager says about a local PDF (a Zotero export's entry, `digest.bib.BibEntry`)."""

    arxiv_id: ArxivId | None  # the paper's id, when the entry names one

    def describe(self, record: PaperRecord) -> PaperRecord:
        """The record of the imported PDF, with the entry's metadata."""


def add_papers(settings: Settings, catalog: Catalog, paths: list[Path], on_result: OnResult = ignore_result,
               described: Mapping[Path, Description] | None = None) -> list[Outcome]:
    """Import local PDFs (files, or folders searched recursively) into the corpus as `source=local`; one
    outcome per file, a failed one named by its path; one bad file never stops the others. A file in `described`
    takes its entry's arXiv id and metadata."""
    corpus = Corpus(settings, catalog)
    outcomes = []
    for path in local_pdfs(paths):
        try:
            outcomes.append(_add_one(corpus, path, (described or {}).get(path)))
        except Exception as exc:  # a file pymupdf chokes on in a way open_pdf did not foresee
            outcomes.append(Outcome(str(path), "add", "failed", f"cannot read it ({type(exc).__name__}: {one_line(exc)})"))
        on_result(outcomes[-1])
    return outcomes


def _add_one(corpus: Corpus, path: Path, described: Description | None) -> Outcome:
    if not path.is_file():
        return Outcome(str(path), "add", "failed", "no such file")
    try:
        sha = sha256_file(path)
        who = identify_pdf(path, sha, described.arxiv_id if described else None)  # checks it too
        return _admit(corpus, str(path), who, sha, lambda tmp: shutil.copyfile(path, tmp), described)
    except PdfError as exc:
        return Outcome(str(path), "add", "failed", str(exc))
    except OSError as exc:
        return Outcome(str(path), "add", "failed", f"cannot copy it: {one_line(exc)}")


def _admit(corpus: Corpus, label: str, who: LocalIdentity, sha: str, stage: Callable[[Path], object],
           described: Description | None = None) -> Outcome:
    """Store an identified PDF (`label` names it in a failure): `stage(tmp)` puts its bytes at the temporary
    path, which is then renamed into place; `unchanged` when the corpus holds it already."""
    catalog = corpus.catalog
    if who.scanned:
        if not ocr_available():
            return Outcome(label, "add", "failed", f"{NO_TEXT_LAYER}: {OCR_HINT}")
        who.warnings.append(f"{NO_TEXT_LAYER}: its text will be read by OCR (tesseract), which takes a while")
    record = catalog.get(who.paper_id)
    if corpus.intact(record):
        if record.sha256 == sha:
            known = described.describe(record) if described else record
            if known != record:
                catalog.upsert(known)
            return paper_outcome(known, "add", "unchanged", warnings=who.warnings)
        return Outcome(label, "add", "failed", f"{who.paper_id} is already in the corpus with other "
                       f"content; run `digest remove {who.paper_id}` first to replace it", warnings=tuple(who.warnings))
    tmp = corpus.temp_path(who.filename)
    try:
        stage(tmp)
        fields = corpus.install(tmp, who.filename, sha)
    finally:
        tmp.unlink(missing_ok=True)
    paper = PaperRecord(paper_id=who.paper_id, version=who.version, title=who.title, categories=who.categories,
                        published=who.published, source="local", note=record.note if record else None,
                        tags=record.tags if record else [], **fields)
    if described:
        paper = described.describe(paper)
    catalog.upsert(paper)
    return paper_outcome(paper, "add", "done", warnings=who.warnings)


# ------------------------------------------------------------------------------------------------ tar shards


def add_tars(settings: Settings, catalog: Catalog, shards: list[Path], on_result: OnResult = ignore_result,
             on_progress: OnProgress = ignore_progress) -> list[Outcome]:
    """Import the PDFs inside tar shards (files, or folders of them; see `shards.iter_pdfs`) as `source=local`,
    read as a stream: each PDF's bytes are written once, to a temporary file in the corpus that is checked,
    identified and renamed into place. One outcome per PDF, a failed one named `<shard>:<member>`; one bad PDF
    never stops the others. A shard that is not a tar file or ends early is one failed outcome named by its
    path, and the next shard is read: the PDFs read from it before stay added. Members that are not PDFs are
    skipped, each reported as a message to `on_progress`; so is the progress, in MiB of the shards read."""
    corpus = Corpus(settings, catalog)
    files = shard_files(shards)
    total, before = sum(_size(f) for f in files), 0
    outcomes = []

    def skipped(shard: Path) -> OnSkip:
        return lambda member, why: on_progress(f"skipped {shard}:{member} ({why})…", 0, 0)

    for shard in files:
        try:
            with open(shard, "rb") as fh:
                for member, data in iter_pdfs(shard, fh, skipped(shard)):
                    outcomes.append(_add_member(corpus, f"{shard}:{member}", pdf_filename(member), data))
                    on_result(outcomes[-1])
                    on_progress("read MiB", _mib(before + fh.tell()), _mib(total))
        except OSError as exc:
            outcomes.append(Outcome(str(shard), "add", "failed", f"cannot read it: {one_line(exc)}"))
            on_result(outcomes[-1])
        except ShardError as exc:
            outcomes.append(Outcome(str(shard), "add", "failed", f"it {exc.problem}; the PDFs before stay added"))
            on_result(outcomes[-1])
        before += _size(shard)
        on_progress("read MiB", _mib(before), _mib(total))
    return outcomes


def _add_member(corpus: Corpus, label: str, filename: str, data: bytes) -> Outcome:
    """Add one PDF read from a shard: its bytes go to a temporary file in the corpus (renamed into place when
    it is stored, deleted otherwise); `filename`, the member's, may name its arXiv id."""
    sha = hashlib.sha256(data).hexdigest()
    written = corpus.temp_path(f"shard-{sha[:16]}")
    try:
        written.write_bytes(data)
        who = identify_pdf(written, sha, name=filename)  # checks it too
        return _admit(corpus, label, who, sha, lambda tmp: os.replace(written, tmp))
    except PdfError as exc:
        return Outcome(label, "add", "failed", str(exc))
    except OSError as exc:
        return Outcome(label, "add", "failed", f"cannot write it: {one_line(exc)}")
    except Exception as exc:  # a file pymupdf chokes on in a way open_pdf did not foresee
        return Outcome(label, "add", "failed", f"cannot read it ({type(exc).__name__}: {one_line(exc)})")
    finally:
        written.unlink(missing_ok=True)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _mib(size: int) -> int:
    return -(-size // 2**20)


# ------------------------------------------------------------------------------------------------ removing


def remove_paper(settings: Settings, catalog: Catalog, any_id: str) -> PaperRecord:
    """Delete a paper (named by any form of its id) from the catalog (its parses and sheets go with it), its
    vectors from the index, its figure images and its PDF; the record it had."""
    from .index import remove_from_index

    record = catalog.find(any_id)
    catalog.remove(record.paper_id)
    remove_from_index(settings, [record.paper_id])
    shutil.rmtree(catalog.figures_dir(record.paper_id), ignore_errors=True)
    if record.pdf_path:
        pdf = (settings.workspace / record.pdf_path).resolve()
        if pdf.is_relative_to(settings.pdf_dir.resolve()):
            pdf.unlink(missing_ok=True)
    return record
