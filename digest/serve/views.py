"""The pages and the few JSON answers, each a thin layer over the library: catalog lookups by id (never a path),
survey sheets as the exporters lay them out, `ask_turn` for answers, and `pages` for page images."""

from __future__ import annotations

import mimetypes
import re
import secrets
import shutil
import tempfile
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response

from ..catalog import Catalog
from ..errors import DigestError, one_line
from ..export import EXPORTERS, exporter, load_entries
from ..export.record import SHEET_ORDER, Lang, labels, wording
from ..export.sheet import Sheet, SheetField, build_sheet
from ..export.tables import benchmark_matrix
from ..files import safe_name
from ..models import PaperRecord, Section
from ..parse.pdf import HEAD, PdfError, check_pdf, starts_like_pdf
from .compare import bar_chart, chart_columns
from .jobs import JobPaper
from .pages import find_quote, render_page

LANG_COOKIE = "digest_lang"
SESSION_COOKIE = "digest_session"
MAX_FILES = 50  # PDFs one form may drop
_IDS = re.compile(r"[\s,;]+")
_CITED = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")


# ---------------------------------------------------------------------------------------------- helpers


def lang_of(request: Request) -> Lang:
    """`?lang=`, else the language chosen before (a cookie), else the workspace's."""
    for lang in (request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)):
        if lang in ("zh", "en"):
            return lang
    return request.app.state.library.settings.lang


def render(request: Request, template: str, status: int = 200, **context) -> Response:
    """A page, with the language wording; remembers a `?lang=` choice."""
    lang = lang_of(request)
    response = request.app.state.templates.TemplateResponse(
        request, template, {"lang": lang, "ui": wording(lang), "labels": labels(lang), **context}, status_code=status)
    if request.query_params.get("lang") == lang:
        response.set_cookie(LANG_COOKIE, lang, samesite="lax")
    return response


def catalog(request: Request) -> Catalog:
    return Catalog(request.app.state.library.settings.catalog_path)


def paper_or_404(db: Catalog, paper_id: str) -> PaperRecord:
    try:
        return db.find(paper_id)
    except DigestError as exc:
        raise HTTPException(404, one_line(exc)) from exc


def pdf_of(request: Request, paper: PaperRecord) -> Path:
    """The paper's PDF, which must lie inside the workspace."""
    workspace = request.app.state.library.settings.workspace.resolve()
    path = (workspace / (paper.pdf_path or "")).resolve()
    if not paper.pdf_path or not path.is_relative_to(workspace) or not path.is_file():
        raise HTTPException(404, f"{paper.paper_id} has no PDF in the workspace: fetch or add it again")
    return path


def sheet_or_404(db: Catalog, paper: PaperRecord, lang: Lang) -> Sheet:
    entries, _ = load_entries(db, [paper.paper_id])
    if not entries:
        raise HTTPException(404, f"{paper.paper_id} has no survey sheet yet: run `digest summarize {paper.paper_id}`")
    return build_sheet(entries[0], lang)


def first_note(field: SheetField) -> int | None:
    """The number of a field's first piece of evidence, if it has any."""
    notes = [n for item in field.items for n in item.notes] + field.notes
    return min(notes) if notes else None


def outline(db: Catalog, paper_id: str) -> list[Section]:
    parsed = db.load_parse(paper_id)
    return parsed.sections if parsed else []


def page_view(request: Request, paper: PaperRecord, page: int, quote: str, sections: list[Section], **context):
    spot = find_quote(pdf_of(request, paper), page, quote)
    return render(request, "page.html", paper=paper, page=page, quote=quote, spot=spot, sections=sections, **context)


# ---------------------------------------------------------------------------------------------- survey


def survey(request: Request) -> Response:
    """All summarized papers as one sortable, filterable table."""
    lang = lang_of(request)
    with catalog(request) as db:
        entries, _ = load_entries(db)
        summarized = {e.paper_id for e in entries}
        waiting = [p for p in db.papers() if p.paper_id not in summarized]
    sheets = [build_sheet(entry, lang) for entry in entries]
    tags = sorted({t for s in sheets for t in s.metadata.tags}, key=str.lower)
    return render(request, "survey.html", sheets=sheets, tags=tags, waiting=waiting, formats=list(EXPORTERS),
                  order=SHEET_ORDER, first_note=first_note)


def export(request: Request) -> Response:
    """The survey in one export format, as a download."""
    fmt, lang = request.path_params["fmt"], lang_of(request)
    if fmt not in EXPORTERS:
        raise HTTPException(404, f"no export format {fmt!r}: use one of {', '.join(EXPORTERS)}")
    writer = exporter(fmt)
    with catalog(request) as db:
        entries, _ = load_entries(db)
    if not entries:
        raise HTTPException(404, "no survey sheets to export: add papers first")
    name = f"survey{writer.suffixes[0]}"
    return Response(writer.render(entries, lang), media_type=mimetypes.guess_type(name)[0] or "application/octet-stream",
                    headers={"content-disposition": f'attachment; filename="{name}"'})


# ---------------------------------------------------------------------------------------------- papers


def paper(request: Request) -> Response:
    """One paper's sheet, each value with its evidence, and its outline."""
    with catalog(request) as db:
        record = paper_or_404(db, request.path_params["paper_id"])
        sheet, sections = sheet_or_404(db, record, lang_of(request)), outline(db, record.paper_id)
    return render(request, "paper.html", paper=record, sheet=sheet, sections=sections)


def paper_pdf(request: Request) -> Response:
    with catalog(request) as db:
        record = paper_or_404(db, request.path_params["paper_id"])
    return FileResponse(pdf_of(request, record), media_type="application/pdf", content_disposition_type="inline")


def page(request: Request) -> Response:
    """A page of a paper, with `?q=` (a quote or passage) highlighted on it."""
    with catalog(request) as db:
        record = paper_or_404(db, request.path_params["paper_id"])
        sections = outline(db, record.paper_id)
    return page_view(request, record, request.path_params["page"], request.query_params.get("q", ""), sections)


def page_image(request: Request) -> Response:
    """The page as a PNG, `?q=` highlighted."""
    with catalog(request) as db:
        pdf = pdf_of(request, paper_or_404(db, request.path_params["paper_id"]))
    png, _ = render_page(pdf, request.path_params["page"], request.query_params.get("q", ""))
    return Response(png, media_type="image/png", headers={"cache-control": "private, max-age=3600"})


def evidence(request: Request) -> Response:
    """The page of a sheet's n-th piece of evidence, its quote highlighted, with the previous and next ones."""
    n = request.path_params["n"]
    with catalog(request) as db:
        record = paper_or_404(db, request.path_params["paper_id"])
        sheet, sections = sheet_or_404(db, record, lang_of(request)), outline(db, record.paper_id)
    notes = {note.n: note for note in sheet.notes}
    note = notes.get(n)
    if note is None or not note.page:
        raise HTTPException(404, f"{record.paper_id} has no evidence {n} with a page: its sheet has {len(notes)}")
    owner = next((f.label for f in sheet.fields if n in f.notes or any(n in i.notes for i in f.items)), None)
    return page_view(request, record, note.page, note.quote, sections, note=note, owner=owner,
                     previous=max((m for m in notes if m < n and notes[m].page), default=None),
                     next=min((m for m in notes if m > n and notes[m].page), default=None))


# ---------------------------------------------------------------------------------------------- ask


def session_of(request: Request) -> str:
    return request.cookies.get(SESSION_COOKIE) or secrets.token_urlsafe(16)


def with_session(response: Response, session: str) -> Response:
    response.set_cookie(SESSION_COOKIE, session, httponly=True, samesite="lax")
    return response


def answer_pieces(turn) -> list[tuple[str, list]]:
    """An answer as (text, citations) pieces: the text between `[n]` markers, and the citations a marker names
    (a bracketed number that names no citation, such as a paper's own reference, stays text)."""
    by_n = {c.n: c for c in turn.answer.citations}
    pieces: list[tuple[str, list]] = []
    at = 0
    for m in _CITED.finditer(turn.answer.answer):
        numbers = [int(n) for n in m.group(1).split(",")]
        if all(n in by_n for n in numbers):
            pieces += [(turn.answer.answer[at:m.start()], []), ("", [by_n[n] for n in numbers])]
            at = m.end()
    return [p for p in pieces + [(turn.answer.answer[at:], [])] if p[0] or p[1]]


def ask_page(request: Request, status: int = 200, error: str | None = None, question: str = "") -> Response:
    session = session_of(request)
    turns = request.app.state.library.conversation(session)
    return with_session(render(request, "ask.html", status, turns=turns, pieces=answer_pieces, error=error,
                               question=question), session)


async def ask(request: Request) -> Response:
    """Answer the question as the next turn of this browser's conversation."""
    session = session_of(request)
    question = str((await request.form()).get("question", ""))
    try:
        await run_in_threadpool(request.app.state.library.ask, session, question)
    except DigestError as exc:
        return ask_page(request, 400, one_line(exc), question)
    turns = len(request.app.state.library.conversation(session))
    return with_session(RedirectResponse(f"/ask#turn-{turns}", status_code=303), session)


def new_conversation(request: Request) -> Response:
    request.app.state.library.forget(session_of(request))
    return RedirectResponse("/ask", status_code=303)


# ---------------------------------------------------------------------------------------------- compare


def compare(request: Request) -> Response:
    """The benchmark matrix (papers × benchmarks) and a chart of one benchmark across models."""
    with catalog(request) as db:
        entries, _ = load_entries(db)
    columns, rows = benchmark_matrix(entries)
    charted = chart_columns(columns, rows)
    chosen = request.query_params.get("b")
    column = columns[int(chosen)] if chosen and chosen.isdigit() and int(chosen) < len(columns) else \
        (charted[0] if charted else None)
    return render(request, "compare.html", columns=columns, rows=rows, charted=charted, column=column,
                  bars=bar_chart(column, rows) if column else [])


# ---------------------------------------------------------------------------------------------- add


def add_form(request: Request) -> Response:
    return render(request, "add.html", max_mb=request.app.state.max_upload // 2**20, error=None)


async def add(request: Request) -> Response:
    """Start a job over the pasted arXiv ids and dropped PDFs; 400 when none of them can be used."""
    check_size(request)
    form = await request.form(max_files=MAX_FILES)
    ids = [text for text in _IDS.split(str(form.get("ids", ""))) if text]
    uploads = [f for f in form.getlist("pdfs") if isinstance(f, UploadFile) and f.filename]
    folder = Path(tempfile.mkdtemp(prefix="digest-upload-"))
    papers = [JobPaper(text) for text in ids] + await run_in_threadpool(_receive, uploads, folder)
    if not any(p.status != "failed" for p in papers):
        shutil.rmtree(folder, ignore_errors=True)
        reasons = "; ".join(f"{p.name}: {p.error}" for p in papers) or "nothing given"
        return render(request, "add.html", 400, max_mb=request.app.state.max_upload // 2**20,
                      error=f"{reasons} — paste arXiv ids or drop PDF files")
    job = request.app.state.library.jobs.start(papers, folder)
    return RedirectResponse(f"/add/{job.id}", status_code=303)


def check_size(request: Request) -> None:
    """413 when the body is larger than the upload limit (uvicorn holds a body to its declared length)."""
    limit, size = request.app.state.max_upload, request.headers.get("content-length")
    if size is None or not size.isdigit():
        raise HTTPException(411, "uploads need a Content-Length header (browsers send one): send the form again")
    if int(size) > limit:
        raise HTTPException(413, f"upload larger than {limit / 2**20:.0f} MB: drop fewer PDFs at once, "
                                 "or add big ones with `digest add`")


def _receive(uploads: list[UploadFile], folder: Path) -> list[JobPaper]:
    """Each dropped file copied into `folder` under a safe name: a job paper, failed when it is not a usable PDF."""
    papers = []
    for i, upload in enumerate(uploads):
        name = Path(upload.filename or "").name
        paper = JobPaper(name, stage="add")
        head = upload.file.read(HEAD)
        if not starts_like_pdf(head):
            paper.status, paper.error = "failed", "not a PDF (no %PDF- header)"
        else:
            safe = safe_name(name).lstrip(".") or "paper"
            path = folder / str(i) / (safe if safe.lower().endswith(".pdf") else f"{safe}.pdf")
            path.parent.mkdir()
            with path.open("wb") as out:
                out.write(head)
                shutil.copyfileobj(upload.file, out)
            try:
                check_pdf(path)
                paper.path = path
            except PdfError as exc:
                paper.status, paper.error = "failed", str(exc)
        papers.append(paper)
    return papers


def job_page(request: Request) -> Response:
    job = request.app.state.library.jobs.get(request.path_params["job_id"])
    if job is None:
        raise HTTPException(404, "no such job (jobs are kept until the server stops): add papers again")
    return render(request, "job.html", job=job)


def job_status(request: Request) -> Response:
    job = request.app.state.library.jobs.get(request.path_params["job_id"])
    if job is None:
        raise HTTPException(404, "no such job (jobs are kept until the server stops): add papers again")
    return JSONResponse(job.as_json())
