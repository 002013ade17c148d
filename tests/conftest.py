"""Shared fixtures: the real papers in ../shared, and a fresh workspace per test.

The shared folder is read only by the tests that use it (through `shared`, `shared_pdf` or `shared_path`), which
fail with a clear message when it is missing; tests that need no paper run anywhere.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("DIGEST_SHARED", REPO.parent / "shared")).resolve()


def shared_path(*parts: str) -> Path:
    """A path inside the shared folder; fails the calling test when the folder is missing."""
    if not (SHARED / "corpus" / "pdf").is_dir():
        pytest.fail(f"the shared corpus is missing at {SHARED}: set DIGEST_SHARED to the folder holding corpus/ "
                    "and eval/", pytrace=False)
    return SHARED.joinpath(*parts)


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch):
    """No test reads the developer's DIGEST_* settings, and none reaches a model hub."""
    for key in list(os.environ):
        if key.startswith("DIGEST_") and key != "DIGEST_SHARED":
            monkeypatch.delenv(key)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


def indexed_workspace(root: Path, pdfs: list[Path]) -> tuple[Path, dict]:
    """A workspace at `root/ws` holding `pdfs` and their index; its path and the build's report (as a dict)."""
    from digest.catalog import Catalog
    from digest.corpus import add_papers
    from digest.index import build_index
    from digest.settings import Settings

    ws = root / "ws"
    ws.mkdir()
    settings = Settings.load(workspace=ws)
    with Catalog(settings.catalog_path) as catalog:
        add_papers(settings, catalog, pdfs)
        report = build_index(settings, catalog)
    return ws, report.model_dump()


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    return ws


@pytest.fixture
def settings(workspace: Path):
    """The settings of the empty `workspace` (a test file may define its own `settings`)."""
    from digest.settings import Settings

    return Settings.load(workspace=workspace)


@pytest.fixture(scope="session")
def shared() -> Path:
    """The shared folder (corpus/, eval/)."""
    return shared_path()


@pytest.fixture(scope="session")
def shared_pdf(shared: Path):
    """Path of a real arXiv PDF in the shared corpus, by id."""

    def path(paper_id: str) -> Path:
        return shared / "corpus" / "pdf" / f"{paper_id}.pdf"

    return path


def recording_model(*replies: str | dict):
    """A fake chat model (langchain's `FakeListChatModel`) that gives `replies` in turn (dicts as JSON) and keeps every
    conversation it was sent in `.calls`."""
    import json

    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    class RecordingModel(FakeListChatModel):
        calls: list = []

        def _call(self, messages, *args, **kwargs):
            self.calls.append(list(messages))
            return super()._call(messages, *args, **kwargs)

    return RecordingModel(responses=[r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in replies],
                          calls=[])
