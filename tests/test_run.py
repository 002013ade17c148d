"""`digest run` and the README's main-job script, against the loopback arXiv server over the shared corpus."""

from __future__ import annotations

import csv
import json
import os
import subprocess

import openpyxl
from click.testing import CliRunner

from digest.cli import cli

from conftest import REPO

SERVED = ["2310.06825", "1409.0473"]  # Mistral 7B, Bahdanau attention: what the test's loopback server holds
MISSING = "2303.08774"  # GPT-4: not served


def _served_corpus(shared, folder):
    """A corpus folder for the loopback server holding only the SERVED papers of the shared corpus."""
    items = [item for item in json.loads((shared / "corpus/metadata.json").read_text()) if item["arxiv_id"] in SERVED]
    for item in items:
        item["pdf"]["path"] = str(shared / "corpus" / item["pdf"]["path"])
    folder.mkdir()
    (folder / "metadata.json").write_text(json.dumps(items))
    return folder


def _survey(tmp_path, corpus, list_file, out):
    env = {
        **os.environ,
        "LOCAL_ARXIV": str(corpus),
        "LIST": str(list_file),
        "OUT": str(out),
        "DIGEST_WORKSPACE": str(tmp_path / "ws"),
        "DIGEST_BACKEND": "extractive",
        "DIGEST_LANG": "en",
    }
    return subprocess.run([str(REPO / "scripts/survey.sh")], env=env, capture_output=True, text=True, timeout=900)


def test_main_job_surveys_every_served_paper_and_skips_the_others(tmp_path, shared):
    list_file = tmp_path / "papers.toml"
    list_file.write_text("".join(f'[[paper]]\nid = "{i}"\n' for i in [SERVED[0], MISSING]))  # one served, one not
    corpus, out = _served_corpus(shared, tmp_path / "corpus"), tmp_path / "out"

    first = _survey(tmp_path, corpus, list_file, out)

    assert first.returncode == 0, first.stderr[-2000:]
    assert f"- {MISSING}: skipped (not on this server)" in first.stdout
    assert "surveyed 2 · skipped 1 · failed 0" in first.stdout  # the served paper the list lacks is surveyed too
    papers = json.loads((out / "survey.json").read_text())["papers"]
    assert sorted(p["paper_id"] for p in papers) == sorted(SERVED)
    mistral = next(p for p in papers if p["paper_id"] == "2310.06825")
    assert "github.com/mistralai/mistral-src" in json.dumps(mistral["fields"]["code_url"])
    for pid in SERVED:
        sheet = (out / f"{pid}.md").read_text()
        assert "## Code URL" in sheet and "## Datasets" in sheet
    rows = list(csv.DictReader((out / "survey.csv").open(encoding="utf-8-sig")))
    assert len(rows) == 2
    book = openpyxl.load_workbook(out / "survey.xlsx")
    assert {"benchmarks", "evidence"} <= set(book.sheetnames)
    assert (out / "survey.html").read_text().count("2310.06825") >= 1

    # Resumable: a second run fetches, embeds and summarizes nothing again, and writes the same sheets.
    before = (out / "survey.json").read_text()
    second = _survey(tmp_path, corpus, list_file, out)
    assert second.returncode == 0
    assert "surveyed 2 · skipped 1 · failed 0" in second.stdout
    assert (out / "survey.json").read_text() == before


def test_run_refuses_bad_arguments_before_any_work(tmp_path):
    pdfs, ws = tmp_path / "pdfs", tmp_path / "ws"
    pdfs.mkdir()
    (tmp_path / "list.txt").write_text("2310.06825\n")
    for args, message in [
        (["--pdf-dir", str(pdfs), "-o", str(tmp_path / "survey.md")], "is not a folder"),
        (["--pdf-dir", str(pdfs), "--list", str(tmp_path / "list.txt")], "not both"),
        ([], "no paper list at"),
    ]:
        result = CliRunner().invoke(cli, ["-w", str(ws), "-q", "run", *args])
        assert result.exit_code == 2, (args, result.output)
        assert result.stderr.startswith("Error: ") and message in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    assert not (ws / "corpus" / "pdf").exists() and not (tmp_path / "survey.md").exists()


def test_run_on_a_folder_of_local_pdfs(tmp_path, shared_pdf):
    pdfs = tmp_path / "pdfs"
    pdfs.mkdir()
    (pdfs / "mistral.pdf").write_bytes(shared_pdf("2310.06825").read_bytes())
    (pdfs / "broken.pdf").write_bytes(b"%PDF-1.5 not really a pdf")
    ws = tmp_path / "ws"

    result = CliRunner().invoke(
        cli, ["-w", str(ws), "-q", "run", "--pdf-dir", str(pdfs), "--backend", "extractive", "--lang", "en"]
    )

    assert result.exit_code == 1, result.output
    assert "surveyed 1 · failed 1" in result.output
    assert "broken.pdf" in result.output
    assert (ws / "out" / "survey.xlsx").is_file()
    assert "2310.06825" in (ws / "out" / "survey.json").read_text()
