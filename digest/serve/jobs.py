"""Add-papers jobs: arXiv ids fetched and dropped PDFs imported, then parsed, indexed and summarized, one job at a
time in a background thread. Each paper's stage and outcome is kept for the page that polls the job; a paper that
fails stops there and never stops the others."""

from __future__ import annotations

import secrets
import shutil
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..catalog import Catalog
from ..corpus import add_papers
from ..errors import DigestError, one_line
from ..fetch import Wanted, fetch_papers
from ..ids import paper_key
from ..index import build_index
from ..outcome import Outcome
from ..settings import Settings
from ..summarize import summarize_papers

KEEP_JOBS = 50  # finished jobs remembered for their pages


@dataclass
class JobPaper:
    """One paper of a job, as the page shows it."""

    name: str  # as given: an arXiv id, or the dropped file's name
    status: str = "waiting"  # waiting, working, done, failed
    stage: str = ""  # the stage it reached: fetch, add, parse, index, summarize
    paper_id: str | None = None
    error: str | None = None
    path: Path | None = field(default=None, repr=False)  # a dropped PDF's temporary copy

    def record(self, outcome: Outcome) -> None:
        self.stage, self.paper_id = outcome.stage, self.paper_id or outcome.paper_id
        if outcome.failed:
            self.status, self.error = "failed", outcome.error
        else:
            self.status = "done" if outcome.stage == "summarize" else "working"


@dataclass
class Job:
    id: str
    papers: list[JobPaper]
    state: str = "queued"  # queued, running, finished
    stage: str = ""
    step: tuple[str, int, int] | None = None  # (step, done, total) of the long step under way

    def as_json(self) -> dict:
        return {"id": self.id, "state": self.state, "stage": self.stage,
                "step": dict(zip(("name", "done", "total"), self.step)) if self.step else None,
                "papers": [{k: v for k, v in asdict(p).items() if k != "path"} for p in self.papers]}

    def alive(self) -> list[JobPaper]:
        return [p for p in self.papers if p.status != "failed"]


class Jobs:
    """Runs add-papers jobs one after another; `on_indexed` is called after each, so that searches see the new
    papers."""

    def __init__(self, settings: Settings, on_indexed: Callable[[], None]):
        self.settings = settings
        self.on_indexed = on_indexed
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="digest-add")

    def start(self, papers: list[JobPaper], folder: Path | None) -> Job:
        """Queue a job over `papers` (arXiv ids, or dropped PDFs in `folder`, removed when it ends)."""
        job = Job(secrets.token_hex(8), papers)
        with self._lock:
            self._jobs[job.id] = job
            while len(self._jobs) > KEEP_JOBS:
                self._jobs.popitem(last=False)
        self._worker.submit(self._run, job, folder)
        return job

    def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    def shutdown(self) -> None:
        self._worker.shutdown(wait=False, cancel_futures=True)

    def _run(self, job: Job, folder: Path | None) -> None:
        job.state = "running"
        try:
            with Catalog(self.settings.catalog_path) as catalog:
                self._survey(job, catalog)
        except DigestError as exc:
            for paper in job.alive():
                paper.status, paper.error = "failed", one_line(exc)
        finally:
            if folder:
                shutil.rmtree(folder, ignore_errors=True)
            job.state, job.stage, job.step = "finished", "", None
            self.on_indexed()

    def _survey(self, job: Job, catalog: Catalog) -> None:
        job.stage = "fetch"
        files = [p for p in job.alive() if p.path]
        for paper in files:
            paper.record(add_papers(self.settings, catalog, [paper.path])[0])
        named = [p for p in job.alive() if not p.path]
        if named:
            fetch_papers(self.settings, catalog, [Wanted(p.name) for p in named], on_result=_recorder(named))
        ids = list(dict.fromkeys(p.paper_id for p in job.alive()))
        if not ids:
            return
        job.stage = "index"
        build_index(self.settings, catalog, ids, on_result=_recorder(job.alive()),
                    on_progress=lambda step, done, total: setattr(job, "step", (step, done, total)))
        job.stage, job.step = "summarize", None
        ids = list(dict.fromkeys(p.paper_id for p in job.alive()))
        summarize_papers(self.settings, catalog, ids, on_result=_recorder(job.alive()))


def _recorder(papers: list[JobPaper]) -> Callable[[Outcome], None]:
    """An `on_result` that records each outcome on the papers it is about (by catalog id, or by the id as given)."""

    def record(outcome: Outcome) -> None:
        for paper in papers:
            if outcome.paper_id in (paper.paper_id, paper.name) or (not paper.path and paper_key(paper.name) == outcome.paper_id):
                paper.record(outcome)

    return record
