"""What became of each paper at each stage, and the callbacks through which stages report as they go.

Every stage (fetch, add, parse, index, summarize) reports one `Outcome` per paper to its `on_result` callback
and returns them all; long steps also call `on_progress(step, done, total)`. A step whose name ends with "…" is
a message rather than a bar (`is_message`): a retry, `done` of `total` ("… timed out (30 s); retrying…", 2, 5),
or a wait (total 0). The library never draws: the CLI turns both into progress bars, lines and its batch report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

Stage = Literal["fetch", "add", "parse", "index", "summarize"]
Status = Literal["done", "unchanged", "failed"]


@dataclass(frozen=True)
class Outcome:
    """One paper at one stage: `done` (the work was done), `unchanged` (already done before) or `failed`
    (`error` says why, in one line). `paper_id` is the catalog id, or the input as given when it has none.
    `detail`: what the stage tells about the paper (title and version, section counts, the sheet...).
    `warnings`: what the user should know about a paper that did not fail (one line each)."""

    paper_id: str
    stage: Stage
    status: Status
    error: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    @property
    def failed(self) -> bool:
        return self.status == "failed"


OnResult = Callable[[Outcome], None]
OnProgress = Callable[[str, int, int], None]  # (step, done so far, total), e.g. ("embed", 512, 4096)


def is_message(step: str) -> bool:
    """Whether an `on_progress` step is a message (a retry, a wait) rather than a step with a bar."""
    return step.endswith("…")


def ignore_result(outcome: Outcome) -> None:
    """The `on_result` of a caller that wants only the returned list."""


def ignore_progress(step: str, done: int, total: int) -> None:
    """The `on_progress` of a caller that draws nothing."""
