"""Fill the corpus: arXiv metadata through the `arxiv` package, PDFs streamed, checked and renamed into place.

Every request (API and PDF) goes through one `PoliteSession`: one connection at a time, `arxiv_delay` seconds
apart, retried with jittered exponential backoff on timeouts, connection errors, 429 and 5xx (honouring
Retry-After). A PDF is written to a hidden `.part` file in `corpus/pdf/`, checked, hashed and renamed into
place before its catalog row says `ok`, so a killed run leaves at most a `.part` file, which the next run
deletes before doing the job again.
"""

from __future__ import annotations

import email.utils
import itertools
import os
import random
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import arxiv
import requests

from . import __version__
from .catalog import Catalog
from .errors import DigestError, one_line
from .files import sha256_file
from .ids import ArxivId, InvalidId, id_from_filename, parse_id
from .models import PaperRecord
from .paperlist import ListedPaper
from .settings import Settings

if TYPE_CHECKING:
    import pymupdf

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
USER_AGENT = f"digest/{__version__} (paper survey tool; polite arXiv client)"
CHUNK = 1 << 16
HEAD = 1024  # a PDF's `%PDF-` header must lie within its first 1024 bytes
TAIL = 1024  # and its `%%EOF` marker within its last 1024
_PART = re.compile(r"^\..+\.(?P<pid>\d+)\.part$")
_WITHDRAWN = re.compile(r"\bwithdrawn\b", re.I)


class FetchError(DigestError):
    """One paper could not be fetched; the message says why, in one line, without the id."""


@dataclass
class FetchResult:
    """What became of one paper asked for: `paper_id` is the catalog id (or the input, when it has none)."""

    paper_id: str
    status: Literal["fetched", "present", "failed"]
    version: int | None = None
    title: str = ""
    error: str | None = None
    bytes: int | None = None
    source: str = "arxiv"

    def line(self) -> str:
        """`2302.13971v1: fetched (LLaMA: ...)`, or `0000.0000: not found on arXiv ...`."""
        name = str(ArxivId(self.paper_id, self.version))
        if self.error:
            return f"{name}: {self.error}"
        return f"{name}: {'already present' if self.status == 'present' else self.status} ({self.title})"


@dataclass
class Wanted:
    """A paper to fetch: an id as the user wrote it (search results also carry their metadata), plus the
    list's note and tags."""

    text: str
    note: str | None = None
    tags: list[str] = field(default_factory=list)
    meta: arxiv.Result | None = None

    @classmethod
    def listed(cls, paper: ListedPaper) -> "Wanted":
        return cls(paper.id, paper.note, paper.tags)


OnResult = Callable[[FetchResult], None]


# --------------------------------------------------------------------------------------------------- HTTP


class RequestFailed(FetchError):
    """A request that still failed after every retry, or failed in a way retrying cannot fix."""


class PoliteSession(requests.Session):
    """A requests session that paces, times out and retries every request it sends."""

    def __init__(self, settings: Settings):
        super().__init__()
        self.settings = settings
        self.headers["User-Agent"] = USER_AGENT
        self._lock = threading.Lock()
        self._next_start = 0.0

    def request(self, method, url, **kwargs):  # type: ignore[override]
        kwargs.setdefault("timeout", self.settings.http_timeout)
        with self._lock:  # one connection at a time
            for attempt in itertools.count():
                self._wait_turn()
                retry_after = None
                try:
                    response = super().request(method, url, **kwargs)
                except (requests.Timeout, requests.ConnectionError) as exc:
                    problem = _network_problem(exc, self.describe(url), self.settings.http_timeout)
                else:
                    if response.status_code not in RETRY_STATUSES:
                        self._check_api_answer(url, response)
                        return response
                    problem = f"HTTP {response.status_code} from {self.describe(url)}"
                    retry_after = _retry_after(response)
                    response.close()
                if attempt >= self.settings.max_retries:
                    hint = "; check the network, or set DIGEST_ARXIV_API_URL" if problem.startswith("cannot reach") else ""
                    raise RequestFailed(f"{problem} after {_retries(attempt)}{hint}")
                if retry_after is not None and retry_after > self.settings.backoff_max:
                    raise RequestFailed(f"{problem}, which asks to wait {retry_after:.0f} s (more than "
                                        f"backoff_max, {self.settings.backoff_max:g} s); try again later")
                self.pause(attempt, retry_after)
        raise AssertionError("unreachable")

    def pause(self, attempt: int, retry_after: float | None = None) -> None:
        """Sleep before retry `attempt` (0-based): jittered exponential backoff, and at least Retry-After."""
        backoff = min(self.settings.backoff_max, self.settings.backoff_base * 2**attempt)
        time.sleep(max(backoff * random.uniform(0.5, 1.0), retry_after or 0.0))

    def describe(self, url: str) -> str:
        api = self.settings.arxiv_api_url
        return f"the arXiv API at {api}" if url.startswith(api) else url

    def _wait_turn(self) -> None:
        now = time.monotonic()
        if now < self._next_start:
            time.sleep(self._next_start - now)
        self._next_start = time.monotonic() + self.settings.arxiv_delay

    def _check_api_answer(self, url: str, response: requests.Response) -> None:
        kind = response.headers.get("Content-Type", "")
        if url.startswith(self.settings.arxiv_api_url) and response.ok and "xml" not in kind:
            response.close()
            raise RequestFailed(f"{self.describe(url)} answered with {kind or 'no content type'}, "
                                "not an Atom feed; check DIGEST_ARXIV_API_URL")


def _network_problem(exc: requests.RequestException, what: str, timeout: float) -> str:
    if isinstance(exc, requests.Timeout):
        return f"{what} timed out ({timeout:g} s)"
    return f"cannot reach {what} ({_reason(exc)})"


def _reason(exc: BaseException) -> str:
    text = str(exc)
    if isinstance(exc, requests.Timeout) or "timed out" in text.lower():
        return "timed out"
    if "reset" in text.lower():
        return "connection reset"
    if "IncompleteRead" in text:
        return "connection closed early"
    errno = re.search(r"\[Errno -?\d+\] ([^'\")]+)", text)
    return errno.group(1).strip() if errno else type(exc).__name__


def _retries(n: int) -> str:
    return f"{n} retry" if n == 1 else f"{n} retries"


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


# ------------------------------------------------------------------------------------------------ arXiv API


class ArxivApi:
    """The real `arxiv.Client`, pointed at `settings.arxiv_api_url` and sending through our session."""

    def __init__(self, settings: Settings, session: PoliteSession):
        self.settings = settings
        self.session = session
        # Pacing and retries live in the session, so the client's own are off.
        self.client = arxiv.Client(page_size=settings.page_size, delay_seconds=0, num_retries=0)
        url = settings.arxiv_api_url.replace("{", "{{").replace("}", "}}")
        self.client.query_url_format = url + ("&{}" if "?" in url else "?{}")
        # arxiv 4.x sends every request through `Client._session`.
        self.client._session = session

    def lookup(self, ids: list[ArxivId]) -> dict[str, arxiv.Result]:
        """Metadata by base id for the ids arXiv knows (the ones it does not know are missing)."""
        search = arxiv.Search(id_list=[str(i) for i in ids], max_results=len(ids))
        return {parse_id(result.get_short_id()).base: result for result in self.results(search)}

    def results(self, search: arxiv.Search) -> list[arxiv.Result]:
        """Every result of a search. `arxiv.Client` ends quietly on an empty first page, which the arXiv
        API sometimes sends by mistake, so that is asked again (`empty_page_retries` times); an empty
        later page (the client raises) is resumed where it stopped."""
        got: list[arxiv.Result] = []
        empty_pages = 0
        for attempt in itertools.count():
            try:
                got.extend(self.client.results(search, offset=len(got)))
            except arxiv.UnexpectedEmptyPageError as exc:
                if attempt >= self.settings.max_retries:
                    raise RequestFailed(f"empty result page from {self.session.describe(exc.url)} "
                                        f"after {_retries(attempt)}") from exc
            except arxiv.HTTPError as exc:
                raise RequestFailed(f"HTTP {exc.status} from {self.session.describe(exc.url)}") from exc
            else:
                if got or empty_pages >= self.settings.empty_page_retries:
                    return got
                empty_pages += 1
            self.session.pause(attempt)
        raise AssertionError("unreachable")


# ------------------------------------------------------------------------------------------------ PDF files


@contextmanager
def _open_pdf(path: Path) -> Iterator[pymupdf.Document]:
    """A complete PDF, open; FetchError saying what is wrong with it otherwise."""
    import pymupdf

    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(HEAD)
        f.seek(max(0, size - TAIL))
        tail = f.read()
    if b"%PDF-" not in head:
        raise FetchError(f"not a PDF (it starts with {_snippet(head)})")
    if b"%%EOF" not in tail:
        raise FetchError(f"truncated PDF: no %%EOF end marker in its {size} bytes")
    pymupdf.TOOLS.mupdf_display_errors(False)
    try:
        doc = pymupdf.open(path, filetype="pdf")
    except Exception as exc:  # pymupdf raises FileDataError, RuntimeError and its own error types
        raise FetchError(f"damaged PDF: pymupdf cannot open it ({one_line(exc)})") from exc
    with doc:
        if doc.page_count < 1:
            raise FetchError("damaged PDF: it has no pages")
        yield doc


def check_pdf(path: Path) -> None:
    """FetchError saying what is wrong with a PDF, if anything."""
    with _open_pdf(path):
        pass


def _snippet(data: bytes) -> str:
    text = " ".join(data[:40].decode("latin-1").split())
    return repr(text) if text else "nothing"


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


# ------------------------------------------------------------------------------------------------ fetching


class Fetcher:
    """Fetches papers into the corpus. One per run: it holds the paced session. A context manager."""

    def __init__(self, settings: Settings, catalog: Catalog):
        self.settings = settings
        self.catalog = catalog
        self.corpus = Corpus(settings, catalog)
        self.session = PoliteSession(settings)
        self.api = ArxivApi(settings, self.session)

    def __enter__(self) -> "Fetcher":
        return self

    def __exit__(self, *exc) -> None:
        self.session.close()

    def search(self, query: str, max_results: int) -> list[Wanted]:
        """The papers an arXiv query (`ti:llama AND cat:cs.CL`) finds, with their metadata."""
        results = self.api.results(arxiv.Search(query=query, max_results=max_results))
        return [Wanted(parse_id(r.get_short_id()).base, meta=r) for r in results]

    def fetch(self, wanted: Iterable[Wanted], update: bool = False, on_result: OnResult | None = None) -> list[FetchResult]:
        """Fetch every paper asked for, in order, each once. Papers already present and intact cost no
        request (with `update`, one API request for all of them); a paper that fails is reported and
        recorded, never fatal."""
        report = on_result or (lambda result: None)
        results: dict[str, FetchResult] = {}
        todo: dict[str, tuple[ArxivId, Wanted]] = {}
        order: list[str] = []
        for item in wanted:
            try:
                aid = parse_id(item.text)
            except InvalidId as exc:
                order.append(item.text)
                results[item.text] = FetchResult(item.text, "failed", error=str(exc))
                report(results[item.text])
            else:
                order.append(aid.base)
                todo[aid.base] = (aid, item)

        jobs: dict[str, _Job] = {}
        lookup: list[ArxivId] = []
        for base, (aid, item) in todo.items():
            record = self.catalog.get(base)
            job = jobs[base] = _Job(aid, item, record, self.corpus.intact(record))
            ask_arxiv = item.meta is not None or (update and aid.version is None)
            if not ask_arxiv and job.intact and aid.version in (None, record.version):
                results[base] = self._present(job)
                report(results[base])
            elif item.meta is None:
                lookup.append(aid)

        found: dict[str, arxiv.Result] = {}
        errors: dict[str, str] = {}
        for start in range(0, len(lookup), self.settings.page_size):
            batch = lookup[start : start + self.settings.page_size]
            try:
                found.update(self.api.lookup(batch))
            except FetchError as exc:
                errors.update((aid.base, str(exc)) for aid in batch)

        for base, job in jobs.items():
            if base in results:
                continue
            meta = job.item.meta or found.get(base)
            if meta is None:
                error = errors.get(base, f"not found on arXiv (the API at {self.settings.arxiv_api_url} has no such id)")
                results[base] = self._fail(job, error)
            else:
                results[base] = self._fetch_one(job, meta)
            report(results[base])
        return [results[key] for key in dict.fromkeys(order)]

    def _fetch_one(self, job: _Job, meta: arxiv.Result) -> FetchResult:
        got = parse_id(meta.get_short_id())
        if job.intact and job.aid.version is None and (got.version or 0) <= (job.record.version or 0):
            return self._present(job)
        paper = _record_from_meta(meta, got)
        try:
            _check_available(meta, got)
            fields = self._download(meta.pdf_url, job.aid.filename)
        except FetchError as exc:
            return self._fail(job, str(exc), paper)
        except OSError as exc:  # disk full, permissions
            return self._fail(job, f"cannot write the PDF: {one_line(exc)}", paper)
        paper = paper.model_copy(update={**fields, **job.listed()})
        self.catalog.upsert(paper)
        return FetchResult(paper.paper_id, "fetched", paper.version, paper.title, bytes=paper.bytes)

    def _download(self, url: str, filename: str) -> dict:
        """Stream a PDF into a `.part` file, retrying transfers cut short, and install it."""
        tmp = self.corpus.temp_path(filename)
        try:
            for attempt in itertools.count():
                try:
                    self._stream(url, tmp)
                    break
                except _CutShort as exc:
                    if attempt >= self.settings.max_retries:
                        raise FetchError(f"{exc} from {url} after {_retries(attempt)}") from exc
                    self.session.pause(attempt)
            check_pdf(tmp)
            return self.corpus.install(tmp, filename, sha256_file(tmp))
        finally:
            tmp.unlink(missing_ok=True)

    def _stream(self, url: str, tmp: Path) -> None:
        with self.session.get(url, stream=True, headers={"Accept-Encoding": "identity"}) as response:
            if response.status_code != 200:
                raise FetchError(f"HTTP {response.status_code} for the PDF at {url}")
            kind = response.headers.get("Content-Type", "no content type")
            expected = response.headers.get("Content-Length", "")
            received, head = 0, b""
            with tmp.open("wb") as out:
                try:
                    for chunk in response.iter_content(CHUNK):
                        if len(head) < HEAD:
                            head += chunk[: HEAD - len(head)]
                            if len(head) == HEAD:
                                _check_head(head, url, kind)
                        out.write(chunk)
                        received += len(chunk)
                except requests.RequestException as exc:
                    raise _CutShort(f"download cut short after {received} of {expected or '?'} bytes "
                                    f"({_reason(exc)})") from exc
            _check_head(head, url, kind)
            if expected.isdigit() and received != int(expected):
                raise _CutShort(f"download cut short after {received} of {expected} bytes")

    def _present(self, job: _Job) -> FetchResult:
        record, listed = job.record, job.listed()
        if listed != {"note": record.note, "tags": record.tags}:
            self.catalog.upsert(record.model_copy(update=listed))
        return FetchResult(record.paper_id, "present", record.version, record.title, bytes=record.bytes,
                           source=record.source)

    def _fail(self, job: _Job, error: str, paper: PaperRecord | None = None) -> FetchResult:
        """Record a failure (`paper`: arXiv's metadata, when known), unless an intact copy is there already
        (the catalog keeps that one)."""
        aid, record = job.aid, job.record
        paper = paper or PaperRecord(paper_id=aid.base, version=aid.version, title=record.title if record else "")
        if not job.intact:
            self.catalog.upsert(paper.model_copy(update={"status": "failed", "error": error, **job.listed()}))
        return FetchResult(aid.base, "failed", paper.version, paper.title, error=error)


@dataclass
class _Job:
    """A paper being fetched, with its catalog row as the run found it and whether that row's PDF is intact."""

    aid: ArxivId
    item: Wanted
    record: PaperRecord | None
    intact: bool

    def listed(self) -> dict:
        """The note and tags to store: the list's, else what the catalog had."""
        item, record = self.item, self.record
        return {"note": item.note if item.note is not None else (record.note if record else None),
                "tags": item.tags or (record.tags if record else [])}


class _CutShort(Exception):
    """A transfer that stopped early: worth another try."""


def _check_head(head: bytes, url: str, kind: str) -> None:
    if b"%PDF-" not in head:
        raise FetchError(f"not a PDF: {url} sent {kind} starting with {_snippet(head)}")


def _check_available(meta: arxiv.Result, got: ArxivId) -> None:
    if meta.comment and _WITHDRAWN.search(meta.comment):
        earlier = f"; ask for an earlier version, e.g. {got.base}v{got.version - 1}" if (got.version or 0) > 1 else ""
        raise FetchError(f"withdrawn on arXiv (comment: {' '.join(meta.comment.split())!r}){earlier}")
    if not meta.pdf_url:
        raise FetchError("the arXiv entry has no PDF link")


def _record_from_meta(meta: arxiv.Result, aid: ArxivId) -> PaperRecord:
    categories = dict.fromkeys(c for c in [meta.primary_category, *meta.categories] if c)
    return PaperRecord(
        paper_id=aid.base,
        version=aid.version,
        title=" ".join(meta.title.split()),
        authors=[a.name for a in meta.authors],
        abstract=" ".join(meta.summary.split()),
        categories=list(categories),
        published=meta.published.date().isoformat() if meta.published.year > 1 else None,
    )


def fetch_papers(settings: Settings, catalog: Catalog, wanted: list[Wanted], update: bool = False,
                 on_result: OnResult | None = None) -> list[FetchResult]:
    """Fetch papers by id into the corpus (see `Fetcher.fetch`)."""
    with Fetcher(settings, catalog) as fetcher:
        return fetcher.fetch(wanted, update, on_result)


# ------------------------------------------------------------------------------------------------ local PDFs

_STAMP = re.compile(r"arXiv:\s*(?P<id>\S+?)\s+\[(?P<category>[\w.\-]+)\]\s+(?P<date>\d{1,2}\s+[A-Z][a-z]{2}\s+\d{4})")
_NOT_A_TITLE = re.compile(r"^(untitled|title|microsoft word\b.*|.*\.(pdf|dvi|tex|docx?)|.*[/\\].*)$", re.I)


@dataclass
class LocalIdentity:
    """What a local PDF says about itself."""

    paper_id: str
    filename: str
    version: int | None = None
    title: str = ""
    categories: list[str] = field(default_factory=list)
    published: str | None = None


def identify_pdf(path: Path, sha256: str) -> LocalIdentity:
    """The id of a local PDF: from an arXiv-style file name, else the arXiv stamp on page 1
    (`arXiv:1706.03762v7 [cs.CL] 2 Aug 2023`), else `local-<first 12 hex of its sha256>`. FetchError
    (see `_open_pdf`) when it is not a complete PDF."""
    with _open_pdf(path) as doc:
        page = doc[0]
        stamp = _STAMP.search(page.get_text())
        title = _metadata_title(doc.metadata or {}) or _largest_text(page)
    aid = id_from_filename(path.name)
    stamped = _stamp_id(stamp)
    if stamped and (aid is None or aid.base == stamped.base):
        aid = ArxivId(stamped.base, (aid and aid.version) or stamped.version)
    else:
        stamp = None  # the stamp (if any) is not this file's
    if aid is None:
        local = f"local-{sha256[:12]}"
        return LocalIdentity(local, local, title=title)
    published = None
    if stamp and aid.version == 1:
        published = time.strftime("%Y-%m-%d", time.strptime(" ".join(stamp.group("date").split()), "%d %b %Y"))
    return LocalIdentity(aid.base, aid.filename, aid.version, title,
                         [stamp.group("category")] if stamp else [], published)


def _stamp_id(stamp: re.Match | None) -> ArxivId | None:
    try:
        return parse_id(stamp.group("id")) if stamp else None
    except InvalidId:
        return None


def _metadata_title(metadata: dict) -> str:
    title = " ".join((metadata.get("title") or "").split())
    return "" if len(title) < 4 or title.lower().startswith("http") or _NOT_A_TITLE.match(title) else title


def _largest_text(page) -> str:
    """The first run of lines set in the largest font on a page (a paper's title on page 1)."""
    lines = []
    for block in page.get_text("dict")["blocks"]:
        for line in block.get("lines", []):
            text = "".join(span["text"] for span in line["spans"]).strip()
            if abs(line["dir"][0] - 1) < 0.01 and re.search(r"[^\W\d_]{2}", text):
                lines.append((max(s["size"] for s in line["spans"] if s["text"].strip()), line["bbox"][1], text))
    if not lines:
        return ""
    top = max(size for size, _, _ in lines)
    picked = sorted((y, text) for size, y, text in lines if size >= top - 0.5)
    run = [picked[0]]
    for y, text in picked[1:]:
        if y - run[-1][0] > 2.5 * top:
            break
        run.append((y, text))
    return _join_lines(text for _, text in run)


def _join_lines(lines: Iterable[str]) -> str:
    """Join title lines, undoing hyphenation at line ends (`LAN-` + `GUAGE` -> `LANGUAGE`)."""
    out = ""
    for line in lines:
        if out.endswith("-"):
            before, after = re.search(r"(\w*)-$", out).group(1), re.match(r"\w*", line).group(0)
            broken_word = bool(before and after) and (after.islower() or (before + after).isupper())
            out = (out[:-1] if broken_word else out) + line
        else:
            out = f"{out} {line}" if out else line
    return out


def add_papers(settings: Settings, catalog: Catalog, paths: list[Path],
               on_result: OnResult | None = None) -> list[FetchResult]:
    """Import local PDFs (files, or folders searched recursively) into the corpus as `source=local`."""
    corpus = Corpus(settings, catalog)
    results = []
    for path in local_pdfs(paths):
        results.append(_add_one(corpus, path))
        if on_result:
            on_result(results[-1])
    return results


def local_pdfs(paths: list[Path]) -> list[Path]:
    """The PDFs named, with folders expanded to the `*.pdf` files inside them."""
    files = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.suffix.lower() == ".pdf" and p.is_file())
        else:
            files.append(path)
    return files


def _add_one(corpus: Corpus, path: Path) -> FetchResult:
    catalog = corpus.catalog
    try:
        if not path.is_file():
            raise FetchError("no such file")
        sha = sha256_file(path)
        who = identify_pdf(path, sha)  # checks it too
        record = catalog.get(who.paper_id)
        if corpus.intact(record):
            if record.sha256 == sha:
                return FetchResult(who.paper_id, "present", record.version, record.title, bytes=record.bytes,
                                   source=record.source)
            raise FetchError(f"{who.paper_id} is already in the corpus with other content; "
                             f"run `digest remove {who.paper_id}` first to replace it")
        tmp = corpus.temp_path(who.filename)
        try:
            shutil.copyfile(path, tmp)
            fields = corpus.install(tmp, who.filename, sha)
        finally:
            tmp.unlink(missing_ok=True)
    except FetchError as exc:
        return FetchResult(str(path), "failed", error=str(exc), source="local")
    except OSError as exc:
        return FetchResult(str(path), "failed", error=f"cannot copy it: {one_line(exc)}", source="local")
    paper = PaperRecord(paper_id=who.paper_id, version=who.version, title=who.title, categories=who.categories,
                        published=who.published, source="local", note=record.note if record else None,
                        tags=record.tags if record else [], **fields)
    catalog.upsert(paper)
    return FetchResult(paper.paper_id, "fetched", paper.version, paper.title, bytes=paper.bytes, source="local")


# ------------------------------------------------------------------------------------------------ removing


def remove_paper(settings: Settings, catalog: Catalog, paper_id: str) -> PaperRecord:
    """Delete a paper's catalog row (its parses and sheets go with it), its vectors in the index and its PDF."""
    from .index import remove_from_index

    record = catalog.get(paper_id.strip())
    if record is None:
        try:
            record = catalog.get(parse_id(paper_id).base)
        except InvalidId:
            pass
    if record is None:
        raise DigestError(f"{paper_id!r} is not in the catalog; `digest list` shows what is")
    catalog.remove(record.paper_id)
    remove_from_index(settings, [record.paper_id])
    if record.pdf_path:
        pdf = (settings.workspace / record.pdf_path).resolve()
        if pdf.is_relative_to(settings.pdf_dir.resolve()):
            pdf.unlink(missing_ok=True)
    return record
