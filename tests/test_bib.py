"""BibTeX and Zotero: `digest fetch --bib`, `digest add` of a Zotero export, `digest export --format bib`.

The .bib files in tests/data are written in the formats the tools document: Zotero's own BibTeX export with its
`file` field (`zotero.bib`), Better BibTeX's (`better-bibtex.bib`), and the forms people paste from arXiv,
biblatex, Google Scholar and DOI services (`refs.bib`). The Zotero export folder is built from the shared
corpus's real PDFs under Zotero's `files/<n>/<Author - Year - Title>.pdf` names; `fetch --bib` talks to the
loopback arXiv.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
from functools import cache
from pathlib import Path

import bibtexparser
import pytest
from bibtexparser.middlewares import LatexDecodingMiddleware
from click.testing import CliRunner

from digest.bib import BibEntry, read_bib
from digest.catalog import Catalog
from digest.cli import cli
from digest.errors import DigestError
from digest.export import exporter
from digest.export.record import SHEET_ORDER, SurveyEntry, field_label, field_text
from digest.models import FieldValue, PaperRecord, PaperSummary
from digest.testing.arxiv_server import ArxivServer
from digest.text import normalize

from conftest import shared_path

DATA = Path(__file__).resolve().parent / "data"

# The files of the Zotero export both fixture .bib files describe: path -> the shared PDF it is a copy of
# (None: an HTML snapshot). Mistral's PDF (files/13) was not exported.
EXPORT_FILES = {
    "files/3/Touvron et al. - 2023 - LLaMA Open and Efficient Foundation Language Models.pdf": "2302.13971",
    "files/4/2302.html": None,
    "files/6/DeepSeek-AI et al. - 2024 - DeepSeek-Coder-V2 Breaking the Barrier of Closed-Source Models in Code "
    "Intelligence.pdf": "2406.11931",  # no arXiv stamp on its page 1
    "files/8/Kimi Team et al. - 2025 - Kimi k1.5 Scaling Reinforcement Learning with LLMs; v1.pdf": "2501.12599",
    "files/10/Dai et al. - 2024 - DeepSeekMoE Towards Ultimate Expert Specialization in Mixture-of-Experts Language "
    "Models.pdf": "2401.06066",
    "files/11/Dai et al. - 2024 - Supplementary material.pdf": "2505.09388",  # the entry's second PDF
    "files/15/deeplearningbook.org.html": None,
}


@cache
def sha256(paper_id: str) -> str:
    """The sha256 of a shared paper's PDF, from the shared corpus's manifest."""
    with shared_path("corpus", "manifest.tsv").open() as fh:
        return next(row["sha256"] for row in csv.DictReader(fh, delimiter="\t") if row["arxiv_id"] == paper_id)


@cache
def title(paper_id: str) -> str:
    """A shared paper's title, as printed in it."""
    items = json.loads(shared_path("corpus", "metadata.json").read_text())
    return next(item["title"] for item in items if item["arxiv_id"] == paper_id)


def kimi() -> str:
    """Kimi k1.5's id: no stamp on its page 1 and no arXiv id in its entry, so a content hash."""
    return "local-" + sha256("2501.12599")[:12]


def run(ws: Path, *args: str):
    return CliRunner().invoke(cli, ["-w", str(ws), *args], catch_exceptions=False)


def outcomes(result) -> dict[str, dict]:
    return {o["paper_id"]: o for o in json.loads(result.stdout)["results"]}


def papers(ws: Path) -> dict[str, PaperRecord]:
    with Catalog(ws / "corpus" / "catalog.sqlite") as catalog:
        return {p.paper_id: p for p in catalog.papers()}


def zotero_export(tmp_path: Path, bib: str, shared_pdf) -> Path:
    """A folder as Zotero's "Export Collection…" with "Export Files" writes it, plus a PDF the user dropped in."""
    folder = tmp_path / "My Collection"
    for name, like in EXPORT_FILES.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        if like:
            shutil.copy(shared_pdf(like), folder / name)
        else:
            (folder / name).write_text("<html><body>snapshot</body></html>")
    shutil.copy(DATA / bib, folder / "My Collection.bib")
    (folder / "extra").mkdir()
    shutil.copy(shared_pdf("1810.04805"), folder / "extra" / "BERT.pdf")
    return folder


# ------------------------------------------------------------------------------------------ reading .bib


def test_zotero_and_better_bibtex_exports_read_alike():
    def seen(name: str) -> list[tuple]:
        return [(e.title, e.authors, e.published, e.tags, e.arxiv_id and str(e.arxiv_id),
                 [p.relative_to(DATA).as_posix() for p in e.pdfs]) for e in read_bib(DATA / name)]

    zotero = seen("zotero.bib")
    assert zotero == seen("better-bibtex.bib")
    llama, coder, kimi, moe, mistral, book = zotero
    assert llama[:5] == ("LLaMA: Open and Efficient Foundation Language Models",
                         ["Hugo Touvron", "Thibaut Lavril", "Gautier Izacard", "Xavier Martinet", "Marie-Anne Lachaux",
                          "Timothée Lacroix", "Baptiste Rozière"],
                         "2023", ["Computer Science - Computation and Language", "survey: base models"], "2302.13971")
    assert llama[5] == [next(iter(EXPORT_FILES))]  # the HTML snapshot is no PDF
    assert coder[1][0] == "DeepSeek-AI" and coder[4] == "2406.11931"  # a corporate author stays whole
    assert kimi[4] is None and kimi[5] == [p for p in EXPORT_FILES if "Kimi" in p]  # `\:` and `\;` unescaped
    assert moe[4] is None and len(moe[5]) == 2
    assert mistral[4] == "2310.06825" and book[5] == []


def test_arxiv_ids_in_every_written_form_and_nothing_guessed():
    entries = {e.key: e for e in read_bib(DATA / "refs.bib")}
    assert {k: str(e.arxiv_id) for k, e in entries.items() if e.arxiv_id} == {
        "touvron2023llama": "2302.13971",  # eprint + archivePrefix (arXiv's own export)
        "jiang2023mistral": "2310.06825v1",  # biblatex eprinttype, with a version
        "vaswani2017attention": "1706.03762",  # Google Scholar's journal, through an @string
        "hu2021lora": "2106.09685",  # url
        "rafailov2023dpo": "2305.18290",  # arXiv's DOI
        "brown2020language": "2005.14165",  # howpublished \url{...pdf}
    }
    assert entries["goodfellow2016deep"].no_id == "no arXiv id: add its PDF with `digest add`"
    assert entries["pubmed2020"].no_id == entries["goodfellow2016deep"].no_id  # a PubMed eprint is not arXiv's
    assert entries["typo2023"].no_id.startswith("'2302.1397' is not an arXiv id")
    assert entries["touvron2023llama"].tags == ["base model", "open weights"]
    assert entries["jiang2023mistral"].published == "2023-10-10"


def test_an_entry_fills_what_the_pdf_does_not_give():
    entry = read_bib(DATA / "zotero.bib")[0]
    blank = PaperRecord(paper_id="2302.13971", tags=["mine"])
    described = entry.describe(blank)
    assert (described.title, described.authors[0], described.published) == (entry.title, "Hugo Touvron", "2023")
    assert described.abstract.startswith("We introduce LLaMA") and described.tags == entry.tags
    from_pdf = PaperRecord(paper_id="2302.13971", title="LLAMA: OPEN AND EFFICIENT", published="2023-02-27",
                           authors=["H. Touvron"], tags=["mine"])
    assert entry.describe(from_pdf).model_dump(include={"title", "published", "authors"}) == {
        "title": entry.title, "published": "2023-02-27", "authors": ["H. Touvron"]}
    assert BibEntry(key="k").describe(from_pdf) == from_pdf  # an entry without metadata changes nothing


@pytest.mark.parametrize("content, problem", [
    (b"@article{broken,\n  title = {Unclosed,\n  year = 2020\n\n@book{next, title = {x}}\n",
     ": line 1: not valid BibTeX (Unexpected block start: `@book`"),
    (b"@misc{a, title={x}}\n@misc{a, title={y}}\n", ": line 2: not valid BibTeX (Duplicate entry key 'a')"),
    (b"just some notes, no entries\n", " holds no BibTeX entries"),
    ("@misc{a, title = {Caf\u00e9}}\n".encode("latin-1"), ": not UTF-8 text; export the library as UTF-8 BibTeX"),
])
def test_a_bad_bib_file_is_one_line_naming_it(tmp_path, workspace, content, problem):
    bib = tmp_path / "refs.bib"
    bib.write_bytes(content)
    with pytest.raises(DigestError, match=re.escape(str(bib))):
        read_bib(bib)
    for args in (["fetch", "--bib", str(bib)], ["add", str(bib)]):
        result = run(workspace, *args)
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith("Error: ") and f"{bib}{problem}" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


# ------------------------------------------------------------------------------------------ fetch --bib


@pytest.fixture(scope="module")
def server(shared):
    with ArxivServer(shared / "corpus") as srv:
        yield srv


def test_fetch_bib_fetches_the_arxiv_papers_and_names_the_other_entries(workspace, server):
    (workspace / "digest.toml").write_text(f'arxiv_api_url = "{server.api_url}"\narxiv_delay = 0\n')
    result = run(workspace, "fetch", "--json", "--bib", str(DATA / "refs.bib"))
    assert result.exit_code == 1
    got = outcomes(result)
    fetched = {"2302.13971", "2310.06825", "1706.03762", "2106.09685", "2305.18290"}
    assert {k for k, o in got.items() if o["status"] == "done"} == fetched
    assert "not found on arXiv" in got["2005.14165"]["error"]
    assert got["goodfellow2016deep"]["error"] == '"Deep Learning": no arXiv id: add its PDF with `digest add`'
    assert got["pubmed2020"]["status"] == got["typo2023"]["status"] == "failed"
    assert len(server.requests("api")) == 1  # one batched lookup for every entry

    catalog = papers(workspace)
    for paper_id in fetched:
        assert catalog[paper_id].sha256 == sha256(paper_id)
    assert catalog["2302.13971"].tags == ["base model", "open weights"]
    assert catalog["2310.06825"].version == 1

    text = run(workspace, "fetch", "--bib", str(DATA / "refs.bib")).stdout
    assert '✗ goodfellow2016deep: "Deep Learning": no arXiv id: add its PDF with `digest add`' in text
    assert "already present 5 · failed 4" in text


# ------------------------------------------------------------------------------------------ add (Zotero)


@pytest.mark.parametrize("bib", ["zotero.bib", "better-bibtex.bib"])
def test_add_a_zotero_export_folder(workspace, tmp_path, shared_pdf, bib):
    folder = zotero_export(tmp_path, bib, shared_pdf)
    result = run(workspace, "add", "--json", str(folder))
    assert result.exit_code == 1, result.output
    got = outcomes(result)
    added = {"2302.13971", "2406.11931", kimi(), "2401.06066", "1810.04805"}
    assert {k for k, o in got.items() if o["status"] == "done"} == added
    mistral, book = (k for k, o in got.items() if o["status"] == "failed")
    assert got[mistral]["error"].startswith('"Mistral 7B": its PDF is missing (')
    assert got[mistral]["error"].endswith("Mistral 7B.pdf): export again with Export Files checked; "
                                          "or `digest fetch 2310.06825`")
    assert got[book]["error"] == '"Deep Learning": no PDF attached: attach one in Zotero and export again'

    catalog = papers(workspace)
    assert set(catalog) == added  # the supplement of DeepSeekMoE is not a paper of its own
    like = {"2302.13971": "2302.13971", "2406.11931": "2406.11931", kimi(): "2501.12599",
            "2401.06066": "2401.06066", "1810.04805": "1810.04805"}
    for paper_id, copy_of in like.items():
        assert catalog[paper_id].sha256 == sha256(copy_of) and catalog[paper_id].source == "local"
        assert normalize(catalog[paper_id].title) == normalize(title(copy_of))
    # the entry's title over the PDF's (`KIMI K1.5: SCALING …` in capitals, `Efﬁcient` with a ligature)
    assert catalog[kimi()].title == "Kimi k1.5: Scaling Reinforcement Learning with LLMs"
    assert catalog["2302.13971"].title == "LLaMA: Open and Efficient Foundation Language Models"
    assert catalog["1810.04805"].title == title("1810.04805")
    llama = catalog["2302.13971"]  # the stamp agrees with the entry: version and date from the stamp
    assert (llama.version, llama.published, llama.authors[-1]) == (1, "2023-02-27", "Baptiste Rozière")
    assert llama.tags == ["Computer Science - Computation and Language", "survey: base models"]
    assert catalog["2406.11931"].published == "2024" and catalog["2406.11931"].authors[0] == "DeepSeek-AI"
    assert catalog[kimi()].authors == ["Kimi Team", "Angang Du", "Bofei Gao"]
    assert catalog["2401.06066"].authors[0] == "Damai Dai"  # id from its stamp, metadata from its entry
    assert catalog["1810.04805"].authors == []  # a PDF no entry names is added as any other

    again = json.loads(run(workspace, "add", "--json", str(folder)).stdout)
    assert (again["done"], again["unchanged"], again["failed"]) == (0, 5, 2)


def test_add_a_bib_file_imports_its_entries_pdfs_only(workspace, tmp_path, shared_pdf):
    folder = zotero_export(tmp_path, "zotero.bib", shared_pdf)
    result = run(workspace, "add", str(folder / "My Collection.bib"))
    assert result.exit_code == 1
    assert set(papers(workspace)) == {"2302.13971", "2406.11931", kimi(), "2401.06066"}
    assert "✗ jiang_mistral_2023: \"Mistral 7B\": its PDF is missing" in result.stdout
    assert "added 4 · already present 0 · failed 2" in result.stdout


# ------------------------------------------------------------------------------------------ export


LOCAL = "local-0123456789ab"
NASTY = 'LLaMA {v2} & 50% of $5 #1 a_b ~x back\\slash -- "q" \'\'x\'\' ``y`` ?` 注意力：模型 <b>|</b>\n@misc{x,'


def _sheets() -> list[tuple[PaperRecord, PaperSummary]]:
    llama = PaperRecord(paper_id="2302.13971", title="LLaMA: Open and Efficient Foundation Language Models",
                        authors=["Hugo Touvron", "Timothée Lacroix", "Smith, Jr., John", "Barnes and Noble"],
                        published="2023-02-27", categories=["cs.CL"], abstract="We introduce LLaMA.",
                        tags=["base model", "R&D"])
    local = PaperRecord(paper_id=LOCAL, title=NASTY, authors=["Kimi Team"], published="2025", source="local")
    fields = {"summary": FieldValue(value=NASTY), "datasets": FieldValue(value=["C4", "a;b", "百科"]),
              "code_url": FieldValue(value="https://github.com/x/y_z?a=1&b=%20")}
    return [(record, PaperSummary(paper_id=record.paper_id, title=record.title, fields=fields))
            for record in (llama, local)]


def test_bib_export_round_trips_through_bibtexparser(tmp_path):
    entries = [SurveyEntry.build(summary, record) for record, summary in _sheets()]
    [path] = exporter("bib").write(entries, tmp_path, "zh")
    assert path == tmp_path / "survey.bib"
    text = path.read_text(encoding="utf-8")
    assert text.count("{") == text.count("}")  # BibTeX counts escaped braces too
    assert re.search(r"(?<!\\)[%&#_$~^]", text) is None  # LaTeX's special characters all escaped
    library = bibtexparser.parse_string(text, append_middleware=[LatexDecodingMiddleware()])
    assert library.failed_blocks == []
    written = {e.key: e for e in library.entries}
    read = {e.key: e for e in read_bib(path)}
    assert list(written) == list(read) == [e.paper_id for e in entries]

    for entry in entries:
        bib, got = written[entry.paper_id], read[entry.paper_id]
        meta = entry.metadata
        assert (got.title, got.authors, got.published, got.tags) == (
            " ".join(entry.title.split()), meta.authors, meta.published[:4], meta.tags)
        note = [f"{field_label(k, 'zh')}: {' '.join(field_text(entry.field(k), 'zh').split())}" for k in SHEET_ORDER]
        assert bib["note"].split("\n") == note
        assert bib.entry_type == "misc"
    llama = written["2302.13971"]
    assert (llama["eprint"], llama["archivePrefix"], llama["primaryClass"], llama["url"]) == (
        "2302.13971", "arXiv", "cs.CL", "https://arxiv.org/abs/2302.13971")
    assert read["2302.13971"].arxiv_id.base == "2302.13971" and read[LOCAL].arxiv_id is None
    assert llama["abstract"] == "We introduce LLaMA." and "eprint" not in written[LOCAL]


def test_cli_export_bib(workspace):
    with Catalog(workspace / "corpus" / "catalog.sqlite") as catalog:
        for record, summary in _sheets():
            catalog.upsert(record)
            catalog.save_summary(summary, key="k")
    out = workspace / "refs.bib"
    result = run(workspace, "export", "--lang", "en", "-o", str(out))  # the suffix picks the format
    assert result.exit_code == 0, result.output
    with Catalog(workspace / "corpus" / "catalog.sqlite") as catalog:
        expected = {p.paper_id: (p.title, p.authors) for p in catalog.papers()}
    assert {e.key: (e.title, e.authors) for e in read_bib(out)} == {
        k: (" ".join(title.split()), authors) for k, (title, authors) in expected.items()}
    assert "Summary: " in out.read_text(encoding="utf-8")
