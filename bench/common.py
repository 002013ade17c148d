"""Helpers shared by the index benchmarks: the shared corpus, question sets, timers and percentiles."""

from __future__ import annotations

import json
import os
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("DIGEST_SHARED", ROOT.parent / "shared"))
PDF_DIR = SHARED / "corpus" / "pdf"
QA_DEV = SHARED / "eval" / "qa_dev.jsonl"
QA_EXTRA = ROOT / "bench" / "qa_extra.jsonl"
QA_HOLDOUT = ROOT / "bench" / "qa_holdout.jsonl"


def load_questions(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


class Timer:
    """CPU seconds (all threads of this process: robust on a shared machine) and wall seconds."""

    cpu = wall = 0.0


@contextmanager
def timed() -> Timer:
    timer = Timer()
    cpu, wall = time.process_time(), time.perf_counter()
    try:
        yield timer
    finally:
        timer.cpu, timer.wall = time.process_time() - cpu, time.perf_counter() - wall


def percentiles(seconds: list[float], prefix: str = "") -> dict[str, float]:
    """p50 / p95 in milliseconds."""
    ms = np.asarray(seconds) * 1000
    return {f"{prefix}p50_ms": round(float(np.percentile(ms, 50)), 2), f"{prefix}p95_ms": round(float(np.percentile(ms, 95)), 2)}


def rss_mib() -> float:
    """Resident memory of this process now, MiB."""
    import psutil

    return psutil.Process().memory_info().rss / 2**20
