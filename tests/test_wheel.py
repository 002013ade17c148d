"""A built wheel works on its own: its files (code, prompts, data, templates) installed in a fresh venv, away from
this checkout, survey a real paper.

The fresh venv reads its dependencies from the test interpreter's site-packages through a `.pth` line, which adds
that folder to `sys.path` without running the `.pth` files in it, so the editable install of this checkout stays
out and `digest` can only come from the wheel.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from conftest import REPO

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel built from a copy of the project's sources (the build leaves nothing in the checkout)."""
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    shutil.copytree(REPO / "digest", src / "digest", ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation", "-q", "-w", str(out)])
    [built] = out.glob("digest-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    """A fresh venv holding the wheel, its dependencies read from this interpreter's site-packages."""
    root = tmp_path_factory.mktemp("venv")
    _run([sys.executable, "-m", "venv", "--without-pip", str(root)])
    python = root / "bin" / "python"
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).strip())
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "-q", str(wheel)])
    return root


def _run(args: list, cwd: Path | None = None) -> str:
    done = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{args}: exit {done.returncode}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    return done.stdout


def test_the_wheel_holds_the_prompts_data_and_templates(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    prompts = sorted(p.name for p in (REPO / "digest" / "prompts").glob("*.md"))
    assert {f"digest/prompts/{name}" for name in prompts} <= names and "digest/prompts/system.md" in names
    assert {"digest/data/gazetteer.json", "digest/data/glossary_zh_en.tsv", "digest/templates/sheet.md.j2"} <= names


def test_installed_wheel_surveys_a_paper(venv, tmp_path, shared_pdf):
    digest = venv / "bin" / "digest"
    ws = tmp_path / "ws"
    where = _run([venv / "bin" / "python", "-c", "import digest.settings as s; print(s.__file__); "
                  f"print(*s.Settings.load(workspace={str(ws)!r}).prompt_folders)"], cwd=tmp_path).split()
    assert [Path(p).is_relative_to(venv) for p in where] == [True, True]  # the wheel's code and its prompts
    assert (Path(where[1]) / "system.md").is_file()

    assert "survey LLM papers" in _run([digest, "--help"], cwd=tmp_path)
    added = json.loads(_run([digest, "-w", ws, "add", "--json", shared_pdf("2310.06825")], cwd=tmp_path))
    assert added["done"] == 1 and added["results"][0]["paper_id"] == "2310.06825"
    _run([digest, "-w", ws, "-q", "index"], cwd=tmp_path)
    [sheet] = json.loads(_run([digest, "-w", ws, "summarize", "--backend", "extractive", "--json"], cwd=tmp_path))
    assert sheet["fields"]["code_url"]["value"] == "https://github.com/mistralai/mistral-src"
    written = _run([digest, "-w", ws, "export", "--lang", "en", "-o", tmp_path / "out"], cwd=tmp_path).splitlines()
    assert written[:2] == [str(tmp_path / "out" / name) for name in ("2310.06825.md", "survey.md")]
    assert re.fullmatch(rf"{re.escape(str(tmp_path / 'out' / '2310.06825'))}/ \(\d+ images?\)", written[2])  # the figures
    assert "## Code URL" in (tmp_path / "out" / "2310.06825.md").read_text(encoding="utf-8")
