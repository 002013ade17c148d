"""Shared fixtures: the real papers in ../shared, and a fresh workspace per test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("DIGEST_SHARED", REPO.parent / "shared")).resolve()
CORPUS = SHARED / "corpus"
PDF_DIR = CORPUS / "pdf"
EVAL_DIR = SHARED / "eval"

if not PDF_DIR.is_dir():
    raise pytest.UsageError(f"the shared corpus is missing at {SHARED}: set DIGEST_SHARED to the folder holding corpus/ and eval/")


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch):
    """No test reads the developer's DIGEST_* settings, and none reaches a model hub."""
    for key in list(os.environ):
        if key.startswith("DIGEST_") and key != "DIGEST_SHARED":
            monkeypatch.delenv(key)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    return ws


@pytest.fixture(scope="session")
def shared_pdf():
    """Path of a real arXiv PDF in the shared corpus, by id."""

    def path(paper_id: str) -> Path:
        return PDF_DIR / f"{paper_id}.pdf"

    return path
