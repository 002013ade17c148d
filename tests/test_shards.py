"""Tar shards of PDFs, as arXiv publishes its bulk PDF set: streamed member by member, each PDF written once,
straight into the corpus. Shards are built here from the real PDFs of the shared corpus."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from digest.catalog import Catalog
from digest.cli import cli
from digest.corpus import add_tars
from digest.errors import DigestError
from digest.ids import id_from_filename
from digest.settings import Settings
from digest.shards import iter_pdfs, pdf_filename

MISTRAL, MOBA, DARK_MATTER = "2310.06825", "2502.13189", "0908.0054"


def shard(path: Path, members: dict[str, bytes | Path], mode: str = "w") -> Path:
    """A tar file at `path` (`mode` w, w:gz, …) holding `members`: name -> bytes, or a file to read them from."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, mode) as tar:
        for name, content in members.items():
            data = content.read_bytes() if isinstance(content, Path) else content
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def sha(data: bytes | Path) -> str:
    return hashlib.sha256(data.read_bytes() if isinstance(data, Path) else data).hexdigest()


@pytest.fixture
def pdfs(shared) -> dict[str, Path]:
    corpus = shared / "corpus"
    return {
        MISTRAL: corpus / "pdf" / f"{MISTRAL}.pdf",  # arXiv stamp on page 1
        MOBA: corpus / "more" / "pdf" / f"{MOBA}.pdf",  # the authors' copy, no stamp: the member name gives the id
        DARK_MATTER: corpus / "more" / "odd" / f"{DARK_MATTER}.pdf",
        "internlm": corpus / "more" / "pdf" / "internlm-techreport-2023.pdf",  # not on arXiv
    }


def test_pdf_members_are_streamed_in_order_and_the_others_skipped(tmp_path, pdfs):
    path = tmp_path / "arXiv_pdf_2502_001.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        tar.add(pdfs[MOBA], arcname=f"2502/{MOBA}.pdf")
        tar.add(pdfs[MISTRAL], arcname=f"2310/nested/{MISTRAL}.PDF")
        info = tarfile.TarInfo("2502/README.txt")
        info.size = 5
        tar.addfile(info, io.BytesIO(b"hello"))
        link = tarfile.TarInfo("2502/latest.pdf")
        link.type, link.linkname = tarfile.SYMTYPE, f"{MOBA}.pdf"
        tar.addfile(link)
    skipped = []

    got = list(iter_pdfs(path, on_skip=lambda member, why: skipped.append((member, why))))

    assert [name for name, _ in got] == [f"2502/{MOBA}.pdf", f"2310/nested/{MISTRAL}.PDF"]
    assert [sha(data) for _, data in got] == [sha(pdfs[MOBA]), sha(pdfs[MISTRAL])]
    assert skipped == [("2502/README.txt", "not a PDF"), ("2502/latest.pdf", "not a regular file")]


@pytest.mark.parametrize("cut", ["inside the second PDF", "between members", "before the end marker"])
def test_a_truncated_shard_is_named_after_the_pdfs_before_the_cut(tmp_path, pdfs, cut):
    whole = shard(tmp_path / "whole.tar", {f"a/{MISTRAL}.pdf": pdfs[MISTRAL], f"b/{MOBA}.pdf": pdfs[MOBA]})
    with tarfile.open(whole) as tar:
        second = tar.getmembers()[1]
    end = {"inside the second PDF": second.offset_data + 1000, "between members": second.offset,
           "before the end marker": second.offset_data + -(-second.size // 512) * 512}[cut]
    truncated = tmp_path / "cut.tar"
    truncated.write_bytes(whole.read_bytes()[:end])
    got = []

    with pytest.raises(DigestError, match=r"cut\.tar is truncated or damaged .* download it again") as error:
        got.extend(name for name, _ in iter_pdfs(truncated))

    assert got == ([f"a/{MISTRAL}.pdf"] if cut != "before the end marker" else [f"a/{MISTRAL}.pdf", f"b/{MOBA}.pdf"])
    assert "\n" not in str(error.value) and f"after {len(got)} PDFs" in str(error.value)


def test_a_file_that_is_not_a_tar_is_refused_by_name(tmp_path, pdfs):
    with pytest.raises(DigestError, match=rf"{MISTRAL}\.pdf is not a tar file"):
        list(iter_pdfs(pdfs[MISTRAL]))


def test_old_style_ids_in_member_names_are_read_as_arxiv_writes_them():
    assert pdf_filename("9901/hep-th9901001v2.pdf") == "hep-th_9901001v2.pdf"
    assert str(id_from_filename(pdf_filename("0001/astro-ph0001001.pdf"))) == "astro-ph/0001001"
    assert pdf_filename(f"2310/{MISTRAL}v1.pdf") == f"{MISTRAL}v1.pdf"


def test_cli_adds_the_pdfs_of_plain_and_gzipped_shards_once_each(workspace, tmp_path, pdfs):
    good = shard(tmp_path / "shards" / "one.tar", {
        f"2310/{MISTRAL}.pdf": pdfs[MISTRAL],
        f"2502/{MOBA}.pdf": pdfs[MOBA],
        "2502/notes.txt": b"not a paper",
        "2401/2401.99999.pdf": pdfs[MISTRAL].read_bytes()[:200_000],  # a PDF cut short
    })
    shard(tmp_path / "shards" / "sub" / "two.tar.gz", {
        f"odd/deep/{DARK_MATTER}.pdf": pdfs[DARK_MATTER], "other/internlm.pdf": pdfs["internlm"]}, "w:gz")
    runner = CliRunner()

    result = runner.invoke(cli, ["-w", str(workspace), "add", "--tar", "--json", str(tmp_path / "shards")])

    out = json.loads(result.stdout)
    assert result.exit_code == 1 and (out["done"], out["unchanged"], out["failed"]) == (4, 0, 1)
    failed = [r for r in out["results"] if r["status"] == "failed"]
    assert failed[0]["paper_id"] == f"{good}:2401/2401.99999.pdf" and failed[0]["error"].startswith("truncated PDF")
    internlm = f"local-{sha(pdfs['internlm'])[:12]}"
    with Catalog(workspace / "corpus" / "catalog.sqlite") as catalog:
        papers = {p.paper_id: p for p in catalog.papers()}
    assert set(papers) == {MISTRAL, MOBA, DARK_MATTER, internlm}
    for pid, source in ((MISTRAL, MISTRAL), (MOBA, MOBA), (DARK_MATTER, DARK_MATTER), (internlm, "internlm")):
        assert papers[pid].source == "local" and papers[pid].sha256 == sha(pdfs[source])
        assert sha(workspace / papers[pid].pdf_path) == sha(pdfs[source])
    stored = sorted(p.name for p in (workspace / "corpus").rglob("*") if p.is_file())
    assert stored == sorted([f"{MISTRAL}.pdf", f"{MOBA}.pdf", f"{DARK_MATTER}.pdf", f"{internlm}.pdf", "catalog.sqlite"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shards", "ws"]  # nothing unpacked beside the shards

    again = runner.invoke(cli, ["-w", str(workspace), "add", "--tar", str(good)])
    assert again.exit_code == 1
    assert again.stdout.strip().splitlines()[-1] == "added 0 · already present 2 · failed 1"


def test_a_truncated_shard_keeps_what_came_before_and_the_next_shard_is_read(workspace, tmp_path, pdfs):
    whole = shard(tmp_path / "whole.tar.gz", {f"a/{MISTRAL}.pdf": pdfs[MISTRAL], f"b/{MOBA}.pdf": pdfs[MOBA]}, "w:gz")
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(whole.read_bytes()[: int(whole.stat().st_size * 0.8)])
    after = shard(tmp_path / "after.tar", {f"{DARK_MATTER}.pdf": pdfs[DARK_MATTER], "index.html": b"<html>"})
    settings = Settings.load(workspace=workspace)
    steps = []

    with Catalog(settings.catalog_path) as catalog:
        outcomes = add_tars(settings, catalog, [cut, after], on_progress=lambda *step: steps.append(step))
        added = {p.paper_id for p in catalog.papers()}

    assert [(o.paper_id, o.status) for o in outcomes] == [
        (MISTRAL, "done"), (str(cut), "failed"), (DARK_MATTER, "done")]
    assert "truncated or damaged" in outcomes[1].error and "stay added" in outcomes[1].error
    assert added == {MISTRAL, DARK_MATTER}
    assert (f"skipped {after}:index.html (not a PDF)…", 0, 0) in steps
    progress = [(done, total) for step, done, total in steps if step == "read MiB"]
    assert progress[-1][0] == progress[-1][1] == -(-(cut.stat().st_size + after.stat().st_size) // 2**20)
    assert [done for done, _ in progress] == sorted(done for done, _ in progress)

    result = CliRunner().invoke(cli, ["-w", str(workspace), "-q", "add", "--tar", str(cut)])
    assert result.exit_code == 1
    assert f"✗ {cut}: it is truncated or damaged (unexpected end of data) after 1 PDFs" in result.stdout


def test_a_tar_given_without_the_flag_is_pointed_to_it(workspace, tmp_path, pdfs):
    path = shard(tmp_path / "papers.tar", {f"{MISTRAL}.pdf": pdfs[MISTRAL]})

    result = CliRunner().invoke(cli, ["-w", str(workspace), "add", str(path)])

    assert result.exit_code == 2 and f"add the PDFs in it with `digest add --tar {path}`" in result.output
    result = CliRunner().invoke(cli, ["-w", str(workspace), "add", "--tar", str(tmp_path / "ws")])
    assert result.exit_code == 2 and "no tar files in" in result.output
