"""Settings precedence: defaults < <workspace>/digest.toml < DIGEST_* environment < flags."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import ValidationError

import digest
from digest.catalog import Catalog
from digest.cli import cli
from digest.models import PaperRecord
from digest.settings import ARXIV_API_URL, Settings


def test_defaults(workspace):
    settings = Settings.load(workspace=workspace)
    assert settings.arxiv_api_url == ARXIV_API_URL and settings.arxiv_delay == 3.0
    assert settings.catalog_path == workspace / "corpus" / "catalog.sqlite"
    assert settings.pdf_dir == workspace / "corpus" / "pdf"


def test_toml_then_env_then_flags(workspace, monkeypatch):
    (workspace / "digest.toml").write_text('arxiv_delay = 1.5\nmax_retries = 7\narxiv_api_url = "http://toml/api"\n')
    settings = Settings.load(workspace=workspace)
    assert (settings.arxiv_delay, settings.max_retries, settings.arxiv_api_url) == (1.5, 7, "http://toml/api")

    monkeypatch.setenv("DIGEST_ARXIV_DELAY", "0.5")
    monkeypatch.setenv("DIGEST_ARXIV_API_URL", "http://env/api")
    settings = Settings.load(workspace=workspace)
    assert (settings.arxiv_delay, settings.max_retries, settings.arxiv_api_url) == (0.5, 7, "http://env/api")

    settings = Settings.load(workspace=workspace, arxiv_delay=0.0, arxiv_api_url=None)
    assert (settings.arxiv_delay, settings.max_retries, settings.arxiv_api_url) == (0.0, 7, "http://env/api")


def test_list_settings_come_from_json_variables_and_names_ignore_case(workspace, monkeypatch):
    monkeypatch.setenv("DIGEST_COLUMN", '[{"name": "context length", "question": "What context length?"}]')
    monkeypatch.setenv("digest_top_k", "9")
    settings = Settings.load(workspace=workspace)
    assert [c.name for c in settings.column] == ["context length"] and settings.top_k == 9
    monkeypatch.setenv("DIGEST_COLUMN", "context length")
    with pytest.raises(ValueError, match="DIGEST_COLUMN is not JSON"):
        Settings.load(workspace=workspace)


def test_flags_fold_into_the_settings_validated(workspace):
    settings = Settings.load(workspace=workspace)
    folded = settings.with_flags(backend="extractive", lang=None, top_k=9)
    assert (folded.backend, folded.lang, folded.top_k, folded.workspace) == ("extractive", "zh", 9, workspace)
    assert settings.backend == "auto"  # the settings folded into are left as they were
    with pytest.raises(ValidationError, match="backend"):
        settings.with_flags(backend="gpt")


def test_prompts_come_from_the_workspace_then_the_package(workspace, tmp_path):
    (packaged,) = Settings.load(workspace=workspace).prompt_folders
    assert packaged == Path(digest.__file__).parent / "prompts" and (packaged / "system.md").is_file()
    (workspace / "prompts").mkdir()
    assert Settings.load(workspace=workspace).prompt_folders == (workspace / "prompts", packaged)
    assert Settings.load(workspace=workspace, prompts_dir=tmp_path).prompt_folders == (tmp_path, packaged)
    assert Settings.load(workspace=workspace, prompts_dir=packaged).prompt_folders == (packaged,)


def test_workspace_from_the_environment(workspace, monkeypatch, tmp_path):
    (workspace / "digest.toml").write_text("max_retries = 1\n")
    monkeypatch.setenv("DIGEST_WORKSPACE", str(workspace))
    monkeypatch.chdir(tmp_path)
    assert Settings.load().workspace == workspace and Settings.load().max_retries == 1
    assert Settings.load(workspace=tmp_path).max_retries == 5  # the flag wins, with its own digest.toml


def test_cli_uses_the_workspace_given(workspace, monkeypatch, tmp_path):
    with Catalog(workspace / "corpus" / "catalog.sqlite") as catalog:
        catalog.upsert(PaperRecord(paper_id="2310.06825", title="Mistral 7B"))
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["-w", str(workspace), "list", "--json"])
    assert result.exit_code == 0 and [p["paper_id"] for p in json.loads(result.stdout)] == ["2310.06825"]
    result = CliRunner().invoke(cli, ["list", "--json"])  # the current directory: no catalog there
    assert result.exit_code == 0 and json.loads(result.stdout) == []


@pytest.mark.parametrize(
    ("toml", "problem"),
    [("arxiv_delay = -1\n", "arxiv_delay"), ("no_such_knob = 1\n", "no_such_knob"), ("arxiv_delay = \n", "line 1")],
)
def test_bad_settings_are_one_line_errors(workspace, toml, problem):
    (workspace / "digest.toml").write_text(toml)
    result = CliRunner().invoke(cli, ["-w", str(workspace), "list"])
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: bad settings") and problem in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
