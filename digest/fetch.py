"""The arXiv client: metadata through the `arxiv` package, PDFs streamed into the corpus. The only module that
touches the `arxiv` package.

Every request (API and PDF) goes through one `PoliteSession`: one connection at a time, `arxiv_delay` seconds
apart, retried with jittered exponential backoff on timeouts, connection errors, 429 and 5xx (honouring
Retry-After), each retry reported to `on_progress`, and given up when `fetch_deadline` seconds have passed since
its first try. A PDF is streamed into a `.part` file, checked and installed by the `Corpus`.
"""

from __future__ import annotations

import email.utils
import itertools
import random
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import arxiv
import requests

from . import __version__
from .catalog import Catalog
from .corpus import Corpus, paper_outcome
from .errors import DigestError, one_line
from .files import sha256_file
from .ids import ArxivId, InvalidId, parse_id
from .models import PaperRecord
from .outcome import OnProgress, OnResult, Outcome, ignore_progress, ignore_result
from .paperlist import ListedPaper
from .parse.pdf import HEAD, PdfError, check_pdf, describe_start, starts_like_pdf
from .settings import Settings

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
USER_AGENT = f"digest/{__version__} (paper survey tool; polite arXiv client)"
CHUNK = 1 << 16
_WITHDRAWN = re.compile(r"\bwithdrawn\b", re.I)
UNKNOWN = "unknown"  # in a failed outcome's detail: the endpoint answered, and has no such paper


class FetchError(DigestError):
    """One paper could not be fetched; the message says why, in one line, without the id."""


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


# --------------------------------------------------------------------------------------------------- HTTP


class RequestFailed(FetchError):
    """A request that still failed after every retry, or failed in a way retrying cannot fix."""


class PoliteSession(requests.Session):
    """A requests session that paces, times out and retries every request it sends; each retry is reported to
    `on_progress` as a message step ("… timed out (30 s); retrying…", n, max_retries)."""

    def __init__(self, settings: Settings, on_progress: OnProgress = ignore_progress):
        super().__init__()
        self.settings = settings
        self.on_progress = on_progress
        self.headers["User-Agent"] = USER_AGENT
        self._lock = threading.Lock()
        self._next_start = 0.0

    def request(self, method, url, **kwargs):  # type: ignore[override]
        timeout = kwargs.pop("timeout", None) or self.settings.http_timeout
        with self._lock:  # one connection at a time
            deadline = time.monotonic() + self.settings.fetch_deadline
            for attempt in itertools.count():
                self._wait_turn()
                retry_after = None
                try:
                    left = max(0.1, deadline - time.monotonic())
                    response = super().request(method, url, timeout=min(timeout, left), **kwargs)
                except (requests.Timeout, requests.ConnectionError) as exc:
                    problem = _network_problem(exc, self.describe(url), round(min(timeout, left), 1))
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
                wait = self.backoff(attempt, retry_after)
                if time.monotonic() + wait >= deadline:
                    raise RequestFailed(f"{problem}; gave up after {self.settings.fetch_deadline:g} s (fetch_deadline) "
                                        f"and {_retries(attempt)}; check the network or raise fetch_deadline")
                self.on_progress(f"{problem}; retrying…", attempt + 1, self.settings.max_retries)
                time.sleep(wait)
        raise AssertionError("unreachable")

    def backoff(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry `attempt` (0-based): jittered exponential backoff, at least Retry-After."""
        backoff = min(self.settings.backoff_max, self.settings.backoff_base * 2**attempt)
        return max(backoff * random.uniform(0.5, 1.0), retry_after or 0.0)

    def pause(self, attempt: int) -> None:
        """Sleep before retry `attempt` (0-based) of a step that retries by itself (a cut-short download)."""
        time.sleep(self.backoff(attempt))

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


# ------------------------------------------------------------------------------------------------ fetching


class Fetcher:
    """Fetches papers into the corpus. One per run: it holds the paced session. A context manager."""

    def __init__(self, settings: Settings, catalog: Catalog, on_progress: OnProgress = ignore_progress):
        self.settings = settings
        self.catalog = catalog
        self.corpus = Corpus(settings, catalog)
        self.session = PoliteSession(settings, on_progress)
        self.api = ArxivApi(settings, self.session)

    def __enter__(self) -> "Fetcher":
        return self

    def __exit__(self, *exc) -> None:
        self.session.close()

    def search(self, query: str, max_results: int) -> list[Wanted]:
        """The papers an arXiv query (`ti:llama AND cat:cs.CL`) finds, with their metadata."""
        results = self.api.results(arxiv.Search(query=query, max_results=max_results))
        return [Wanted(parse_id(r.get_short_id()).base, meta=r) for r in results]

    def fetch(self, wanted: Iterable[Wanted], update: bool = False,
              on_result: OnResult = ignore_result) -> list[Outcome]:
        """Fetch every paper asked for, in order, each once; one outcome each (`unchanged`: present and
        intact; a failure's detail holds UNKNOWN when arXiv answered but has no such paper). Present papers cost no request (with `update`, one API request for all of them); a paper
        that fails is reported and recorded, never fatal."""
        results: dict[str, Outcome] = {}
        todo: dict[str, tuple[ArxivId, Wanted]] = {}
        order: list[str] = []
        for item in wanted:
            try:
                aid = parse_id(item.text)
            except InvalidId as exc:
                order.append(item.text)
                results[item.text] = Outcome(item.text, "fetch", "failed", exc.reason)
                on_result(results[item.text])
            else:
                order.append(aid.base)
                todo.setdefault(aid.base, (aid, item))  # a paper listed twice: its first mention counts

        jobs: dict[str, _Job] = {}
        lookup: list[ArxivId] = []
        for base, (aid, item) in todo.items():
            record = self.catalog.get(base)
            job = jobs[base] = _Job(aid, item, record, self.corpus.intact(record))
            ask_arxiv = item.meta is not None or (update and aid.version is None)
            if not ask_arxiv and job.intact and aid.version in (None, record.version):
                results[base] = self._present(job)
                on_result(results[base])
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
            if meta is None and base in errors:
                results[base] = self._fail(job, errors[base])
            elif meta is None:
                error = f"not found on arXiv (the API at {self.settings.arxiv_api_url} has no such id)"
                results[base] = replace(self._fail(job, error), detail={UNKNOWN: True})
            else:
                results[base] = self._fetch_one(job, meta)
            on_result(results[base])
        return [results[key] for key in dict.fromkeys(order)]

    def _fetch_one(self, job: _Job, meta: arxiv.Result) -> Outcome:
        got = parse_id(meta.get_short_id())
        if job.intact and job.aid.version is None and (got.version or 0) <= (job.record.version or 0):
            return self._present(job)
        paper = _record_from_meta(meta, got)
        try:
            _check_available(meta, got)
            fields = self._download(meta.pdf_url, job.aid.filename)
        except (FetchError, PdfError) as exc:
            return self._fail(job, str(exc), paper)
        except OSError as exc:  # disk full, permissions
            return self._fail(job, f"cannot write the PDF: {one_line(exc)}", paper)
        paper = paper.model_copy(update={**fields, **job.listed()})
        self.catalog.upsert(paper)
        return paper_outcome(paper, "fetch", "done")

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

    def _present(self, job: _Job) -> Outcome:
        record, listed = job.record, job.listed()
        if listed != {"note": record.note, "tags": record.tags}:
            self.catalog.upsert(record.model_copy(update=listed))
        return paper_outcome(record, "fetch", "unchanged")

    def _fail(self, job: _Job, error: str, paper: PaperRecord | None = None) -> Outcome:
        """Record a failure (`paper`: arXiv's metadata, when known), unless an intact copy is there already
        (the catalog keeps that one)."""
        aid, record = job.aid, job.record
        paper = paper or PaperRecord(paper_id=aid.base, version=aid.version, title=record.title if record else "")
        if not job.intact:
            self.catalog.upsert(paper.model_copy(update={"status": "failed", "error": error, **job.listed()}))
        return paper_outcome(paper, "fetch", "failed", error)


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
    if not starts_like_pdf(head):
        raise FetchError(f"not a PDF: {url} sent {kind} starting with {describe_start(head)}")


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
                 on_result: OnResult = ignore_result, on_progress: OnProgress = ignore_progress) -> list[Outcome]:
    """Fetch papers by id into the corpus (see `Fetcher.fetch`); retries are reported to `on_progress`."""
    with Fetcher(settings, catalog, on_progress) as fetcher:
        return fetcher.fetch(wanted, update, on_result)
