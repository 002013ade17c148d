"""The `digest` command line: a thin click layer over the library."""

from __future__ import annotations

import gc
import itertools
import json
import os
from contextlib import contextmanager
from dataclasses import asdict
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, get_args

import click
from pydantic import ValidationError

from ..errors import DigestError, one_line, shorten
from ..outcome import OnProgress, OnResult, Outcome, is_message
from ..settings import Settings

if TYPE_CHECKING:
    from rich.console import Console


class Context:
    """What every command gets: settings and where to print (rich consoles, made on first use: `search` prints
    with click alone, and does not import rich)."""

    def __init__(self, settings: Settings, quiet: bool):
        self.settings = settings
        self.quiet = quiet

    @cached_property
    def out(self) -> Console:
        from rich.console import Console

        return Console(soft_wrap=True)

    @cached_property
    def err(self) -> Console:
        from rich.console import Console

        return Console(stderr=True, quiet=self.quiet)

    def print_json(self, data) -> None:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))

    def fold(self, **flags) -> Settings:
        """Fold a command's flags into the settings, once (None leaves a setting as it is); the settings."""
        try:
            self.settings = self.settings.with_flags(**flags)
        except ValidationError as exc:
            raise DigestError(f"bad option: {one_line(exc)}") from exc
        return self.settings


pass_ctx = click.make_pass_decorator(Context)


def choice(setting: str) -> click.Choice:
    """The values a `Literal` setting allows, as click choices."""
    return click.Choice(get_args(Settings.model_fields[setting].annotation))


class UserError(click.ClickException):
    """A DigestError as click shows it: `Error: <one line>`, exit code 2."""

    exit_code = 2


class DigestGroup(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except DigestError as exc:
            raise UserError(one_line(exc)) from exc


@click.group(cls=DigestGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-w", "--workspace", type=click.Path(file_okay=False, path_type=Path), envvar="DIGEST_WORKSPACE",
              help="Folder with digest.toml, corpus/ and index/ (default: current directory).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars or chatter on stderr.")
@click.version_option(package_name="digest")
@click.pass_context
def cli(ctx: click.Context, workspace: Path | None, quiet: bool) -> None:
    """digest: survey LLM papers - fetch, parse, index, summarize, ask, export."""
    try:
        settings = Settings.load(workspace=workspace)
    except Exception as exc:  # pydantic ValidationError, TOML syntax errors
        raise UserError(f"bad settings (digest.toml or DIGEST_* variables): {one_line(exc)}") from exc
    ctx.obj = Context(settings, quiet)


# ------------------------------------------------------------------------- corpus: fetch, add, list, remove


@contextmanager
def progress_bars(ctx: Context, enabled: bool = True):
    """Progress bars on stderr, one per step the library reports, and a line for each message step (a retry, a
    wait: `is_message`); yields the `on_progress(step, done, total)` that draws them. Off with --quiet."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=ctx.err, disable=ctx.quiet or not enabled, transient=True) as bars:
        tasks: dict[str, int] = {}

        def on_progress(step: str, done: int, total: int) -> None:
            if is_message(step):
                line = f"{step[:-1]} ({done}/{total})…" if total else step
                ctx.err.print(line, style="yellow", markup=False, highlight=False, soft_wrap=True)
                return
            if step not in tasks:
                tasks[step] = bars.add_task(step, total=total)
            bars.update(tasks[step], completed=done, total=total)

        yield on_progress


def counted(on_progress: OnProgress, step: str, total: int) -> OnResult:
    """An `on_result` that reports each outcome as one more of `total` done."""
    done = itertools.count(1)
    return lambda outcome: on_progress(step, next(done), total)


@cli.command()
@click.argument("ids", nargs=-1)
@click.option("--list", "list_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A paper list: corpus/papers.toml, or plain text with one id per line.")
@click.option("--bib", "bib_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A BibTeX file (Zotero, Better BibTeX, arXiv, Google Scholar): the arXiv papers its entries name.")
@click.option("--query", help='An arXiv search, e.g. "ti:llama AND cat:cs.CL".')
@click.option("--max", "max_results", type=click.IntRange(1, 2000), default=10, show_default=True,
              help="Most papers --query fetches.")
@click.option("--update", is_flag=True, help="Also fetch newer arXiv versions of papers already present.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@pass_ctx
def fetch(ctx: Context, ids: tuple[str, ...], list_file: Path | None, bib_file: Path | None, query: str | None,
          max_results: int, update: bool, as_json: bool) -> None:
    """Download arXiv papers (by id, list, BibTeX file or search) into the corpus."""
    from ..bib import cited_papers
    from ..catalog import Catalog
    from ..fetch import Fetcher, Wanted
    from ..paperlist import read_list

    if not (ids or list_file or bib_file or query):
        raise DigestError("nothing to fetch: give arXiv ids, --list corpus/papers.toml, --bib refs.bib or --query TEXT")
    cited, uncited = cited_papers(bib_file) if bib_file else ([], [])
    wanted = [Wanted(i) for i in ids] + [Wanted.listed(p) for p in (read_list(list_file) if list_file else [])]
    wanted += [Wanted(str(entry.arxiv_id), tags=entry.tags) for entry in cited]
    with Catalog(ctx.settings.catalog_path) as catalog, progress_bars(ctx, not as_json) as on_progress, \
            Fetcher(ctx.settings, catalog, on_progress) as fetcher:
        if query:
            wanted += fetcher.search(query, max_results)
        outcomes = fetcher.fetch(wanted, update, on_result=counted(on_progress, "fetch", len(wanted)))
    _report_batch(ctx, outcomes + uncited, as_json, FETCHED)


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--tar", "tar", is_flag=True,
              help="PATHS are tar files of PDFs (.tar, .tar.gz, …; as arXiv's bulk PDF shards) or folders of them, "
                   "read as streams: nothing is unpacked.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@pass_ctx
def add(ctx: Context, paths: tuple[Path, ...], tar: bool, as_json: bool) -> None:
    """Import local PDFs, folders of them, Zotero exports (the folder or its .bib: each entry's PDF with its
    arXiv id and metadata), or with --tar tar shards of PDFs into the corpus."""
    from ..bib import zotero_import
    from ..catalog import Catalog
    from ..corpus import add_papers, add_tars, shard_files
    from ..shards import is_tar_name

    if tar:
        shards = shard_files(list(paths))
        if not shards:
            raise DigestError(f"no tar files in {', '.join(map(str, paths))}")
        with Catalog(ctx.settings.catalog_path) as catalog, progress_bars(ctx, not as_json) as on_progress:
            outcomes = add_tars(ctx.settings, catalog, shards, on_progress=on_progress)
        _report_batch(ctx, outcomes, as_json, ADDED)
        return
    tar_file = next((p for p in paths if p.is_file() and is_tar_name(p)), None)
    if tar_file:
        raise DigestError(f"{tar_file} is a tar file: add the PDFs in it with `digest add --tar {tar_file}`")
    found = zotero_import(paths)
    if not (found.pdfs or found.missing):
        raise DigestError(f"no PDF files in {', '.join(map(str, paths))}")
    with Catalog(ctx.settings.catalog_path) as catalog, progress_bars(ctx, not as_json) as on_progress:
        outcomes = add_papers(ctx.settings, catalog, found.pdfs, counted(on_progress, "add", len(found.pdfs)),
                              found.entries)
    _report_batch(ctx, outcomes + found.missing, as_json, ADDED)


# What each command calls the three outcomes, in its report: status -> words.
FETCHED = {"done": "fetched", "unchanged": "already present", "failed": "failed"}
ADDED = {"done": "added", "unchanged": "already present", "failed": "failed"}
PARSED = {"done": "parsed", "unchanged": "unchanged", "failed": "failed"}
SUMMARIZED = {"done": "summarized", "unchanged": "unchanged", "failed": "failed"}
_MARKS = {"done": ("✓", "green"), "unchanged": ("=", "dim"), "failed": ("✗", "red")}


def _report_batch(ctx: Context, outcomes: list[Outcome], as_json: bool, words: dict[str, str]) -> None:
    """Print what became of each paper and a count per status; exit 1 if any failed. With --quiet only the
    failures and the counts; with --json the outcomes and the counts."""
    counts = _counts(outcomes)
    if as_json:
        ctx.print_json({"results": [asdict(o) for o in outcomes], **counts})
    else:
        for o in outcomes:
            mark, style = _MARKS[o.status]
            if o.failed or not ctx.quiet:
                ctx.out.print(f"{mark} {_outcome_line(o, words)}", style=style, markup=False, highlight=False)
            _print_warnings(ctx, o)
        ctx.out.print(_counts_line(counts, words), markup=False, highlight=False)
    _exit_if_failed(counts)


def _print_warnings(ctx: Context, o: Outcome) -> None:
    """A paper's warnings, one line each (also with --quiet: they say something went differently than asked)."""
    for warning in o.warnings:
        ctx.out.print(f"! {shorten(o.paper_id)}: {warning}", style="yellow", markup=False, highlight=False)


def _counts(outcomes: list[Outcome]) -> dict[str, int]:
    return {status: sum(o.status == status for o in outcomes) for status in _MARKS}


def _counts_line(counts: dict[str, int], words: dict[str, str]) -> str:
    """`fetched 2 · already present 0 · failed 1`"""
    return " · ".join(f"{words[status]} {n}" for status, n in counts.items())


def _exit_if_failed(counts: dict[str, int]) -> None:
    if counts["failed"]:
        click.get_current_context().exit(1)


def _outcome_line(o: Outcome, words: dict[str, str]) -> str:
    """`2302.13971: fetched (v1, LLaMA: ...)`, `2310.06825: parsed (12 sections, ...)`, or `id: the error`."""
    if o.failed:
        return f"{shorten(o.paper_id)}: {o.error}"
    about = _about(o.detail)
    return f"{o.paper_id}: {words[o.status]}" + (f" ({about})" if about else "")


def _about(detail: dict) -> str:
    if "sections" in detail:
        return (f"{detail['sections']} sections, {detail['tables']} tables, outline from {detail['outline_source']}, "
                f"{detail['seconds']:.1f} s")
    version = f"v{detail['version']}" if detail.get("version") else ""
    return ", ".join(part for part in (version, detail.get("title", "")) if part)


@cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the catalog as JSON.")
@pass_ctx
def list_papers(ctx: Context, as_json: bool) -> None:
    """Show the papers in the catalog."""
    from rich.markup import escape
    from rich.table import Column, Table

    from ..catalog import Catalog

    papers = []
    if ctx.settings.catalog_path.exists():
        with Catalog(ctx.settings.catalog_path) as catalog:
            papers = catalog.papers()
    if as_json:
        ctx.print_json([p.model_dump() for p in papers])
        return
    if not papers:
        ctx.out.print("no papers yet: run `digest fetch --list corpus/papers.toml` or `digest add FOLDER`", markup=False)
        return
    widest = max(len(p.paper_id) for p in papers)
    table = Table(Column("id", no_wrap=True, min_width=widest), "v", "title", "tags", "MB", "status")
    for p in papers:
        status = "ok" if p.status == "ok" else f"[red]failed: {escape(p.error or '')}[/red]"
        size = f"{p.bytes / 1e6:.1f}" if p.bytes else ""
        title = escape(p.title) if p.title else f"[dim]{escape(p.note or '')}[/dim]"
        table.add_row(p.paper_id, str(p.version or ""), title, escape(", ".join(p.tags)), size, status)
    ctx.out.print(table)
    failed = sum(p.status == "failed" for p in papers)
    ctx.out.print(f"{len(papers)} papers: {len(papers) - failed} ok, {failed} failed", markup=False)


@cli.command()
@click.argument("ids", nargs=-1, required=True)
@pass_ctx
def remove(ctx: Context, ids: tuple[str, ...]) -> None:
    """Delete papers from the catalog, with their PDFs; exit 1 when some id is not in the catalog (each named)."""
    from ..catalog import Catalog
    from ..corpus import remove_paper

    failed = 0
    with Catalog(ctx.settings.catalog_path) as catalog:
        for paper_id in ids:
            try:
                record = remove_paper(ctx.settings, catalog, paper_id)
            except DigestError as exc:  # not in the catalog; the others are still removed
                failed += 1
                ctx.out.print(f"✗ {exc}", style="red", markup=False, highlight=False)
                continue
            ctx.out.print(f"removed {record.paper_id} ({record.title})", markup=False, highlight=False)
    if failed:
        click.get_current_context().exit(1)


@cli.command()
@click.option("--repair", is_flag=True,
              help="Rebuild a damaged catalog from corpus/pdf and the stored parses (the PDFs are never touched).")
@pass_ctx
def doctor(ctx: Context, repair: bool) -> None:
    """Check the catalog, the PDFs and the index; exit 1 when something is wrong (each problem on a line)."""
    from ..doctor import check_workspace, repair_catalog

    checkup = check_workspace(ctx.settings)
    if repair and checkup.damaged:
        done = repair_catalog(ctx.settings)
        ctx.out.print(f"rebuilt the catalog: {len(done.papers)} papers from readable rows, {len(done.from_pdfs)} "
                      f"from their PDFs, {done.parses} parses and {done.sheets} sheets kept"
                      + (f"; the damaged file is kept as {done.aside}" if done.aside else ""), markup=False, highlight=False)
        checkup = check_workspace(ctx.settings)
    for problem in checkup.problems:
        ctx.out.print(f"✗ {problem}", style="red", markup=False, highlight=False)
    if checkup.problems:
        click.get_current_context().exit(1)
    ctx.out.print("✓ the catalog, the PDFs it names and the index are intact", markup=False, highlight=False)


# ------------------------------------------------------------------------- parse, show


@cli.command()
@click.argument("ids", nargs=-1)
@click.option("--force", is_flag=True, help="Parse again even when the PDF and the parser are unchanged.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@pass_ctx
def parse(ctx: Context, ids: tuple[str, ...], force: bool, as_json: bool) -> None:
    """Recover sections, references, tables and links from PDFs (new or changed papers, or IDS)."""
    from ..catalog import Catalog
    from ..parse import parse_papers

    with Catalog(ctx.settings.catalog_path) as catalog, progress_bars(ctx, not as_json) as on_progress:
        outcomes = parse_papers(ctx.settings, catalog, list(ids) or None, force=force, on_progress=on_progress)
    _report_batch(ctx, outcomes, as_json, PARSED)


@cli.command()
@click.argument("paper_id")
@click.option("--json", "as_json", is_flag=True, help="Print the outline, tables and links as JSON.")
@pass_ctx
def show(ctx: Context, paper_id: str, as_json: bool) -> None:
    """Print a paper's outline: section titles, levels and pages (parsing it first if needed)."""
    from ..catalog import Catalog
    from ..parse import load_parsed

    with Catalog(ctx.settings.catalog_path) as catalog:
        paper = load_parsed(ctx.settings, catalog, paper_id)
    if as_json:
        ctx.print_json({
            "paper_id": paper.paper_id, "title": paper.title,
            "sections": [{"number": s.number, "title": s.title, "level": s.level, "page": s.page_start,
                          "kind": s.kind} for s in paper.sections],
            "tables": [t.model_dump() for t in paper.tables],
            "links": [link.model_dump() for link in paper.links],
        })
        return
    ctx.out.print(f"{paper.paper_id}  {paper.title}", style="bold", markup=False, highlight=False)
    for s in paper.sections:
        tag = " (appendix)" if s.kind == "appendix" and s.level == 1 else ""
        ctx.out.print(f"{'  ' * s.level}{s.heading}{tag}  p.{s.page_start}", markup=False, highlight=False)
    ctx.out.print(f"{len(paper.tables)} tables · {len(paper.captions)} captions · {len(paper.links)} links · "
                  f"outline from {paper.outline_source}", style="dim", markup=False, highlight=False)


# ------------------------------------------------------------------------- index, search


@cli.command("index")
@click.argument("ids", nargs=-1)
@click.option("--force", is_flag=True, help="Rebuild from scratch: re-chunk and re-embed every paper.")
@click.option("--json", "as_json", is_flag=True, help="Print counts and timings as JSON.")
@click.option("--ray", "ray_address", is_flag=False, flag_value="", metavar="[ADDRESS]",
              help="Parse and embed on a Ray cluster (engine = ray): ADDRESS (host:port, ray://host:port, auto), "
                   "else ray_address, else RAY_ADDRESS, else Ray started here. Give IDS before it.")
@pass_ctx
def index_cmd(ctx: Context, ids: tuple[str, ...], force: bool, as_json: bool, ray_address: str | None) -> None:
    """Parse, chunk and embed new or changed papers (or IDS) into the search index."""
    from ..catalog import Catalog
    from ..index import build_index

    if ray_address is not None:
        try:
            ctx.settings = ctx.settings.with_flags(engine="ray", ray_address=ray_address or None)
        except ValidationError as exc:
            raise DigestError(f"--ray {ray_address}: not a Ray address (host:port, ray://host:port, auto or local); "
                              "give paper ids before --ray") from exc
    with Catalog(ctx.settings.catalog_path) as catalog, progress_bars(ctx, not as_json) as on_progress:
        report = build_index(ctx.settings, catalog, list(ids) or None, force=force, on_progress=on_progress)
    if as_json:
        ctx.print_json(report.model_dump(mode="json"))
    else:
        for failure in report.failed:
            ctx.out.print(f"✗ {shorten(failure.paper_id)}: {failure.error}", style="red", markup=False, highlight=False)
        for warned in report.warned:
            _print_warnings(ctx, warned)
        reused = f" (and {report.reused} chunks saved by a build that stopped)" if report.reused else ""
        recall = f" (recall@10 {report.ann_recall_at_10:.3f})" if report.ann_recall_at_10 is not None else ""
        ctx.out.print(
            f"{report.papers} papers, {report.chunks} chunks ({report.ann}{recall}) · added {len(report.added)} · "
            f"updated {len(report.updated)} · unchanged {report.unchanged} · removed {len(report.removed)} · "
            f"failed {len(report.failed)} · embedded {report.embedded} passages{reused} in {report.seconds.get('total', 0):.1f}s",
            markup=False, highlight=False)
    if report.failed:
        click.get_current_context().exit(1)


@cli.command()
@click.argument("query")
@click.option("-k", "top_k", type=click.IntRange(1, 1000), help="How many passages (default: settings.top_k).")
@click.option("--paper", "papers", multiple=True, help="Only search this paper (repeatable).")
@click.option("--mode", type=choice("search_mode"), help="Ranking (default: settings.search_mode).")
@click.option("--fusion", type=choice("fusion"),
              help="How hybrid mode combines dense and BM25: scaled-score sum or reciprocal-rank fusion (default: settings.fusion).")
@click.option("--json", "as_json", is_flag=True, help="Print the passages as JSON.")
@pass_ctx
def search(ctx: Context, query: str, top_k: int | None, papers: tuple[str, ...], mode: str | None, fusion: str | None,
           as_json: bool) -> None:
    """Find the passages that best match QUERY, with paper, section, page and score."""
    _start_query(ctx)
    from ..index import Index

    settings = ctx.fold(top_k=top_k, search_mode=mode, fusion=fusion)
    hits = Index.open(settings).search(query, k=settings.top_k, mode=settings.search_mode, papers=list(papers) or None,
                                       fusion=settings.fusion)
    if as_json:
        ctx.print_json([{"paper_id": h.chunk.paper_id, "title": h.chunk.title, "section": h.chunk.section,
                         "page": h.chunk.page_start, "text": h.chunk.text, "score": h.score} for h in hits])
        return
    if not hits:
        click.secho("no matching passages", dim=True)
    for n, hit in enumerate(hits, start=1):
        c = hit.chunk
        click.secho(f"{n}. {c.title} ({c.paper_id}) · {c.section or '-'} · p.{c.page_start} · score {hit.score:.4f}",
                    bold=True)
        snippet = " ".join(c.text.split())
        click.echo("   " + (snippet[:400] + "…" if len(snippet) > 400 else snippet))


# ------------------------------------------------------------------------- summarize


@cli.command()
@click.argument("ids", nargs=-1)
@click.option("--backend", type=choice("backend"), help="auto: llm when one is configured (default: settings).")
@click.option("--fields", help="Comma-separated fields to fill, e.g. code_url,datasets (default: all).")
@click.option("--lang", type=choice("lang"), help="Language of labels (the llm backend also writes in it).")
@click.option("--force", is_flag=True, help="Summarize again even when the paper and settings are unchanged.")
@click.option("--column", "columns", multiple=True, metavar='"NAME[ (TYPE)]: QUESTION"',
              help="A column of your own, e.g. \"context length (number): What is the maximum context length?\"; "
                   "TYPE is number, text, list or yes/no (default: read from the question). Repeatable; adds to "
                   "the [[column]] tables of digest.toml.")
@click.option("--json", "as_json", is_flag=True, help="Print the sheets as JSON.")
@pass_ctx
def summarize(ctx: Context, ids: tuple[str, ...], backend: str | None, fields: str | None, lang: str | None,
              force: bool, columns: tuple[str, ...], as_json: bool) -> None:
    """Fill the survey sheet of each paper (all fetched papers, or IDS), every value quoted from the paper."""
    from ..catalog import Catalog
    from ..fields import FIELD_LABELS
    from ..summarize import sheet_json, summarize_papers
    from ..summarize.columns import parse_column

    extra = [parse_column(c) for c in columns]
    settings = ctx.fold(backend=backend, lang=lang, column=[*ctx.settings.column, *extra] if extra else None)
    with Catalog(settings.catalog_path) as catalog:
        outcomes = summarize_papers(settings, catalog, list(ids) or None, fields.split(",") if fields else None, force)
    for o in outcomes:
        if o.failed:
            click.echo(f"✗ {o.paper_id}: {o.error}", err=True)
    sheets = [o.detail["sheet"] for o in outcomes if not o.failed]
    if as_json:
        ctx.print_json([sheet_json(s) for s in sheets])
    else:
        label = 0 if settings.lang == "zh" else 1
        for o in outcomes:
            if o.failed:
                continue
            s = o.detail["sheet"]
            ctx.out.print(f"{s.paper_id}  {s.title}  [{s.backend}{' ' + s.model if s.model else ''}, {SUMMARIZED[o.status]}]",
                          style="bold", markup=False, highlight=False)
            rows = [(FIELD_LABELS[key][label], value) for key, value in s.fields.items()] + list(s.columns.items())
            for name, value in rows:
                ctx.out.print(f"  {name}: {_value_text(value)}", markup=False, highlight=False)
            if s.benchmarks:
                ctx.out.print(f"  {len(s.benchmarks)} benchmark scores (see --json)", style="dim", markup=False)
        ctx.out.print(_counts_line(_counts(outcomes), SUMMARIZED), markup=False, highlight=False)
    _exit_if_failed(_counts(outcomes))


def _value_text(value) -> str:
    """A sheet value on one line, with the pages of its evidence: "AdamW; Adafactor  (p. 3, 7)", or "—"."""
    text = "; ".join(value.value) if isinstance(value.value, list) else value.value
    pages = sorted({e.page for e in value.evidence})
    return f"{text or '—'}" + (f"  (p. {', '.join(map(str, pages[:8]))})" if pages else "")


EXPORT_FORMATS = ("md", "csv", "xlsx", "json", "html", "bib")  # digest.export.EXPORTERS, listed without importing it


@cli.command("export")
@click.argument("ids", nargs=-1)
@click.option("-f", "--format", "fmt", type=click.Choice(EXPORT_FORMATS),
              help="Output format (default: from the -o suffix, else md).")
@click.option("--lang", type=choice("lang"), help="Language of headings and labels (default: settings).")
@click.option("-o", "--out", type=click.Path(path_type=Path),
              help="A file, or a folder for survey.<format> (md: plus one sheet per paper). Default: <workspace>/out.")
@click.option("--template", type=click.Path(path_type=Path), help="Your own Jinja2 template for each Markdown sheet.")
@click.option("--backend", help="Export the sheets made by this summarize backend (default: the newest sheet).")
@click.option("--scores", type=click.Choice(["all", "own"]), default="all", show_default=True,
              help="Benchmark scores to export: every row, or only those of the models each paper introduces.")
@click.option("--json", "as_json", is_flag=True, help="Print what was written as JSON.")
@pass_ctx
def export_cmd(ctx: Context, ids: tuple[str, ...], fmt: str | None, lang: str | None, out: Path | None,
               template: Path | None, backend: str | None, scores: str, as_json: bool) -> None:
    """Write the survey sheets (all summarized papers, or IDS) as Markdown, CSV, XLSX, JSON, HTML or BibTeX.

    Exit code 1 when a requested paper has no sheet (the others are still exported)."""
    from ..catalog import Catalog
    from ..export import export_catalog

    settings = ctx.fold(lang=lang)
    if not settings.catalog_path.exists():
        raise DigestError(f"no catalog at {settings.catalog_path}: fetch and summarize papers first (or pass -w)")
    with Catalog(settings.catalog_path) as catalog:
        result = export_catalog(catalog, list(ids) or None, fmt, out or settings.workspace / "out", settings.lang,
                                template, backend, scores)
    for paper_id, reason in result.missing.items():
        click.echo(f"skipped {paper_id}: {reason}", err=True)
    if as_json:
        ctx.print_json({"written": [str(p) for p in result.written], "exported": result.exported,
                        "missing": result.missing})
    else:
        for line in written_lines(result.written):
            click.echo(line)
    if result.missing:
        click.get_current_context().exit(1)


def written_lines(paths: list[Path]) -> list[str]:
    """The files an export wrote, one a line, a folder of figure images as one line ("out/2401.04088/ (4 images)")."""
    images: dict[Path, int] = {}
    lines = []
    for path in paths:
        if path.suffix == ".png":
            images[path.parent] = images.get(path.parent, 0) + 1
        else:
            lines.append(str(path))
    return lines + [f"{folder}/ ({n} image{'s' * (n > 1)})" for folder, n in images.items()]


# ------------------------------------------------------------------------- ask, chat

def _start_query(ctx: Context) -> None:
    """Ready this process for a query before its heavy imports: the index's query encoder checked (first: the
    check needs no numpy) and loaded in the background, and one BLAS thread (a query's products are small, and
    the threads OpenBLAS starts with numpy spin for a tenth of a second, taking a core from that loading)."""
    from ..live import check_soon, live_meta

    root = ctx.settings.index_dir
    meta = live_meta(root)
    check_soon(meta, root)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from ..embed_onnx import load_soon

    load_soon(meta, root)


def _asker(ctx: Context, backend: str | None, papers: tuple[str, ...], tags: tuple[str, ...], k: int | None):
    _start_query(ctx)
    from ..ask import Asker

    return Asker.open(ctx.fold(backend=backend, top_k=k), papers=papers, tags=tags)


@cli.command("ask")
@click.argument("question")
@click.option("--paper", "papers", multiple=True, help="Only this paper (its arXiv or local id, as `digest list` shows); repeatable.")
@click.option("--tag", "tags", multiple=True, help="Only papers with this tag; repeatable.")
@click.option("-k", "k", type=click.IntRange(1, 20), help="Passages the LLM reads (default: top_k setting).")
@click.option("--backend", type=choice("backend"), help="extractive, llm, or auto (llm when one is configured).")
@click.option("--json", "as_json", is_flag=True, help="Print the answer and citations as JSON.")
@pass_ctx
def ask_cmd(ctx: Context, question: str, papers: tuple[str, ...], tags: tuple[str, ...], k: int | None,
            backend: str | None, as_json: bool) -> None:
    """Answer a question from the indexed papers, citing paper, section and page."""
    from .chat import render_answer

    asker = _asker(ctx, backend, papers, tags, k)
    answer = asker.ask(question).answer
    if as_json:
        ctx.print_json(answer.model_dump(include={"answer", "citations", "answered"}))
    else:
        render_answer(ctx.out, question, answer, asker.llm is None)


@cli.command("chat")
@click.option("--paper", "papers", multiple=True, help="Only this paper (its arXiv or local id, as `digest list` shows); repeatable.")
@click.option("--tag", "tags", multiple=True, help="Only papers with this tag; repeatable.")
@click.option("-k", "k", type=click.IntRange(1, 20), help="Passages the LLM reads (default: top_k setting).")
@click.option("--backend", type=choice("backend"), help="extractive, llm, or auto (llm when one is configured).")
@pass_ctx
def chat_cmd(ctx: Context, papers: tuple[str, ...], tags: tuple[str, ...], k: int | None, backend: str | None) -> None:
    """Ask questions in a conversation: follow-ups use what was asked before; `exit` ends."""
    from .chat import chat_loop

    asker = _asker(ctx, backend, papers, tags, k)
    chat_loop(asker, ctx.out, _read_question)


def _read_question() -> str:
    """The next line typed at the chat prompt; EOFError at the end of input."""
    try:
        return click.prompt("?", prompt_suffix=" ", default="", show_default=False)
    except click.Abort:
        raise EOFError from None


@cli.command()
@click.option("--list", "list_files", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Paper list to survey (default: corpus/papers.toml in the workspace); repeatable.")
@click.option("--pdf-dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Survey the PDFs in this folder instead of fetching from arXiv.")
@click.option("--skip-unknown", is_flag=True,
              help="Papers the arXiv endpoint does not have are skipped, not failures (for a loopback server that "
                   "holds part of the list).")
@click.option("-o", "--out", type=click.Path(path_type=Path),
              help="Folder for the sheets (default: <workspace>/out); it ends up holding this run's survey only.")
@click.option("--backend", type=choice("backend"),
              help="How the survey fields are filled (default: settings.backend, auto).")
@click.option("--lang", type=choice("lang"), help="Language of the sheets (default: settings.lang).")
@pass_ctx
def run(ctx: Context, list_files: tuple[Path, ...], pdf_dir: Path | None, skip_unknown: bool, out: Path | None,
        backend: str | None, lang: str | None) -> None:
    """The whole survey in one resumable command: fetch, parse, index, summarize, export."""
    from ..catalog import Catalog
    from ..fetch import Wanted
    from ..paperlist import read_list
    from ..pipeline import run_survey

    settings = ctx.fold(backend=backend, lang=lang)
    if list_files and pdf_dir:
        raise DigestError(f"--list {list_files[0]} and --pdf-dir {pdf_dir}: give one of them, not both")
    wanted = None
    if pdf_dir is None:
        list_files = list_files or (settings.corpus_dir / "papers.toml",)
        if not list_files[0].is_file():
            raise DigestError(f"no paper list at {list_files[0]}: give --list FILE or --pdf-dir DIR")
        wanted = [Wanted.listed(p) for list_file in list_files for p in read_list(list_file)]
    out = out or settings.workspace / "out"
    stages = iter(range(1, 5))
    with Catalog(settings.catalog_path) as catalog, progress_bars(ctx) as on_progress:
        report = run_survey(settings, catalog, out, wanted=wanted, pdfs=[pdf_dir] if pdf_dir else None,
                            on_stage=lambda stage: ctx.err.rule(f"[{next(stages)}/4] {stage}"), on_progress=on_progress,
                            skip_unknown=skip_unknown)
    for o in report.failed.values():
        ctx.out.print(f"✗ {shorten(o.paper_id)}: {o.stage}: {o.error}", style="red", markup=False, highlight=False)
    for o in report.warned:
        _print_warnings(ctx, o)
    for paper_id in report.skipped:
        ctx.out.print(f"- {paper_id}: skipped (not on this server)", style="dim", markup=False, highlight=False)
    skipped = f" · skipped {len(report.skipped)}" if skip_unknown else ""
    ctx.out.print(f"surveyed {len(report.surveyed)}{skipped} · failed {len(report.failed)}", markup=False,
                  highlight=False)
    for line in written_lines(report.written):
        ctx.out.print(f"wrote {line}", markup=False, highlight=False)
    if report.failed:
        click.get_current_context().exit(1)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; any but a loopback one needs --token.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="Port to listen on.")
@click.option("--token", envvar="DIGEST_SERVE_TOKEN", help="Secret every request must carry (env DIGEST_SERVE_TOKEN).")
@pass_ctx
def serve(ctx: Context, host: str, port: int, token: str | None) -> None:
    """A local web app: the survey, each value opening its page with the quote highlighted; ask; compare; add."""
    from ..serve import serve as run_app

    run_app(ctx.settings, host, port, token, echo=lambda line: click.echo(line, err=True))


def main() -> None:
    """The console script: `cli` in a short-lived process. The objects made before the command runs (the CLI's
    modules) and by it (the libraries it imported) mostly live to its end, so they are frozen out of the cyclic
    garbage collector's passes (`gc.freeze`): a query would otherwise spend a tenth of a second or more walking
    them, mostly in the interpreter's last collections at exit, which free what the OS frees anyway."""
    gc.freeze()
    try:
        cli()
    finally:
        gc.freeze()
