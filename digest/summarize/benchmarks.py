"""Benchmark scores read from result tables and from sentences that state them.

A table is read when its header row (benchmarks as columns, models as rows) or its benchmark column (benchmarks as
rows, models as columns) holds names the paper evaluates on; every score keeps its table row as the quote.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from digest.models import BenchmarkScore, Table

from .entities import is_benchmark_name
from .evidence import PaperText, Sentence

MAX_SCORES = 400
_NUMBER = re.compile(r"^[-+]?(?:0|[1-9]\d*)(?:\.\d+)?\s?%?(?=\s|$|[*†‡|])")  # not "002" of "code-davinci-002"
_METRIC = re.compile(
    r"\b(?:BLEU|ROUGE(?:-[12L])?|F1|EM|Acc\.?|Accuracy|Exact\s+Match|Pass@\d+|pass@\d+|BPB|PPL|Perplexity|Elo|ELO\s+Rating"
    r"|Win\s+Rate|maj@\d+|Consensus@\d+|Percentile|Rating|Resolved|LC\s+Win\s+Rate|MC[12]|Prompt\s+Strict|Correct)\b",
    re.I,
)
_SETTING = re.compile(r"\b(?:\d+|zero|one|few)[- ]shot\b|\bmaj1?@\d+\b|\bpass@?\d+\b|\bCoT\b|\bgreedy\b", re.I)
_SCORE_IN_TEXT = re.compile(
    r"(?P<metric>BLEU|ROUGE(?:-[12L])?|F1|accuracy|exact match|pass@\d+|perplexity|Elo)\s+(?:score\s+)?of\s+(?P<score>\d+(?:\.\d+)?%?)"
    r"|(?<![\w.-])(?P<score2>(?:0|[1-9]\d*)(?:\.\d+)?%?)\s+(?P<metric2>BLEU|F1|accuracy|pass@\d+)?\s*(?:on|in)\s+(?:the\s+)?(?P<name>[A-Z][\w.+-]*(?:\s[\w.+-]+){0,3})",
    re.I,
)


@dataclass
class _Grid:
    header: list[str]  # per column: the header rows' cells joined (a spanning group label over its sub-columns)
    rows: list[tuple[list[str], Sentence]]  # data rows, with the row as a quotable sentence


def read_scores(text: PaperText, names: list[str]) -> list[BenchmarkScore]:
    """Scores for the benchmarks in `names` from the result tables, then from sentences; the paper's own models
    first (marked `own`), tables before sentences."""
    known = _Names(names)
    scores: list[BenchmarkScore] = []
    for table in text.parsed.tables:
        grid = _grid(table, text.table_rows(table))
        if grid:
            scores += _by_columns(table, grid, known) or _by_rows(table, grid, known)
    scores += _from_sentences(text, known)
    own = own_names(text.parsed.title)
    unique = {(b.benchmark, b.metric, b.setting, b.model, b.score): b for b in scores}
    marked = [b.model_copy(update={"own": _is_own(b.model, own)}) for b in unique.values()]
    return sorted(marked, key=lambda b: not b.own)[:MAX_SCORES]


def own_names(title: str) -> list[str]:
    """The model names a title coins: its head before a colon when short, and words written as names (LLaMA,
    Kimi-Audio, Qwen3-ASR, DeepSeek-Prover-V1.5)."""
    head = title.split(":")[0].strip().split()
    words = [w.strip(".,") for w in re.findall(r"[\w.-]+", title)]
    coined = [w for w in words if re.search(r"[a-z][A-Z]|[A-Z]{2}|\d|^[A-Z][a-z]+-[A-Z]", w)
              and not re.fullmatch(r"LLMs?|[A-Z][a-z]+-of-[A-Z]\w+|\d+(?:\.\d+)?[BMKT]", w)]  # not "7B" of "Mistral 7B"
    return head[:1] * (0 < len(head) <= 3 and head[0][:1].isupper()) + coined  # "Granite" of "Granite Code Models: ..."


def _is_own(model: str, own: list[str]) -> bool:
    """Whether a row's model is one the paper introduces: it holds a coined title name as a whole token."""
    return any(re.search(rf"(?<![\w.]){re.escape(name)}(?![\w]|\.\d)", model, re.I) for name in own)


class _Names:
    """The benchmark names the paper evaluates on, matched in table cells ("MMLU (EM)", "GSM8k")."""

    def __init__(self, names: list[str]):
        self.names = sorted(names, key=len, reverse=True)
        self.folded = {n.lower(): n for n in names}

    def match(self, cell: str) -> tuple[str, str] | None:
        """(benchmark, what follows it: metric or setting) when the cell names one of the benchmarks, or another
        name the gazetteer knows as a benchmark ("WinoG" in a table when the prose says "WinoGrande"). An acronym
        matches only in its own case: "Race/Color" is not RACE."""
        cell = " ".join(cell.split())
        base = re.split(r"\s*[(\[]", cell)[0].strip()
        if base.lower() in self.folded and _same_case(base, self.folded[base.lower()]) or is_benchmark_name(base):
            return base, cell[len(base):].strip(" ()[]")
        for name in self.names:
            if re.match(rf"{re.escape(name)}(?![\w-])", cell, re.I) and _same_case(cell[: len(name)], name):
                return cell[: len(name)], cell[len(name):].strip(" ()[]")
        return None


def _same_case(written: str, name: str) -> bool:
    return written == name or sum(c.isupper() for c in name) < 2


def _cells(row: str) -> list[str]:
    """The cells of a Markdown row; an escaped pipe ("1.28 \\| 2.42") stays inside its cell."""
    return [" ".join(c.replace("\\|", "|").split()) for c in re.split(r"(?<!\\)\|", row.strip().strip("|"))]


def _grid(table: Table, sentences: list[Sentence]) -> _Grid | None:
    """Header (rows before the first row holding two numbers) and data rows of a table."""
    by_text = {s.text: s for s in sentences}
    parsed = [(_cells(r), by_text.get(" ".join(r.split()))) for r in table.rows if not re.fullmatch(r"[|\s:-]+", r)]
    first = next((i for i, (cells, _) in enumerate(parsed) if sum(bool(_NUMBER.match(c)) for c in cells) >= 2), None)
    if first is None or not parsed:
        return None
    width = max(len(cells) for cells, _ in parsed)
    pad = lambda cells: cells + [""] * (width - len(cells))  # noqa: E731
    heads = [_prefixed(pad(cells)) for n, (cells, _) in enumerate(parsed[:first]) if n == 0 or not _attribute_row(cells)]
    rows = [(pad(cells), s) for cells, s in parsed[first:] if s is not None]
    numeric = [any(_NUMBER.match(cells[i]) for cells, _ in rows) for i in range(width)]
    filled = [sum(bool(c) for c in h[1:]) for h in heads]
    for n in range(len(heads) - 1):  # each row over the next one below that fills more columns ("Model |" rows between)
        below = next((m for m in range(n + 1, len(heads)) if filled[m] > filled[n]), n + 1)
        named = {i for m, h in enumerate(heads) if m not in (n, below) for i, c in enumerate(h) if c}
        heads[n] = _spread(heads[n], heads[below], [x and i not in named for i, x in enumerate(numeric)], named)
    header = [_join([h[i] for h in heads]) for i in range(width)]
    return _Grid(header, rows)


def _prefixed(cells: list[str]) -> list[str]:
    """A header row labelled "pass@" over "@1 | @100": each sub-header as "pass@1"."""
    if not cells[0].endswith("@"):
        return cells
    return [""] + [cells[0] + c[1:] if c.startswith("@") else c for c in cells[1:]]


def _spread(upper: list[str], lower: list[str], numeric: list[bool], named: set[int]) -> list[str]:
    """A group label over sub-columns ("HumanEval" over "@1 | @100") repeated on each; sub-columns split evenly
    among the labels when they divide, else each goes to the nearest label on its left. A column another header
    row names ("DeepSeek" over "67B Chat") is a name in pieces, not part of a group."""
    labels = [i for i in range(1, len(upper)) if upper[i] and (lower[i] or numeric[i])]
    subs = [j for j in range(1, len(lower)) if lower[j] and (upper[j] or j not in named)]
    if len(subs) <= len(labels) or not labels:
        return upper
    out = list(upper)
    even = len(subs) % len(labels) == 0
    for n, j in enumerate(subs):
        left = [i for i in labels if i <= j]
        out[j] = upper[labels[n * len(labels) // len(subs)]] if even else upper[left[-1] if left else labels[0]]
    return out


def _join(parts: list[str]) -> str:
    """Header cells stacked in one column, as one label: "S2ORC-" + "SCIBERT", "GPT-4o" + "-Transcribe";
    "pass@" (a row label) + "@1" -> "pass@1"."""
    out = ""
    for part in (p for p in parts if p):
        out = out + part if out.endswith("-") or part.startswith("-") else f"{out} {part}".strip()
    return out


def _attribute_row(cells: list[str]) -> bool:
    """A header row that describes the models ("Architecture | MoE | Dense"), not names them."""
    return bool(cells and cells[0]) and not cells[0].endswith("@") and sum(bool(c) for c in cells[1:]) >= 2


def _by_columns(table: Table, grid: _Grid, known: _Names) -> list[BenchmarkScore]:
    """Benchmarks head the columns; each row is a model (a size-only row takes the family its group is labelled
    with: "| | 65B |" under "| LLaMA | |")."""
    columns = {i: m for i, h in enumerate(grid.header) if h and (m := known.match(h))}
    if not columns:
        return []
    first = min(columns)
    caption_setting = _setting(table.caption)
    out = []
    for (cells, sentence), family in zip(grid.rows, _families(grid.rows, first)):
        parts = [c for c in cells[:first] if c and not _NUMBER.match(c)] or [c for c in cells[:first] if c]
        if family and not cells[0]:
            parts = [family, *parts]
        model = model_name(" ".join(parts))
        for i, (name, rest) in columns.items():
            score = _NUMBER.match(cells[i]) if i < len(cells) else None
            if score and model:
                out.append(_score(name, rest, table.caption, caption_setting, model, score.group(0), sentence))
    return out


def _families(rows: list[tuple[list[str], Sentence]], first: int) -> list[str]:
    """For each row, the family its first cell or its group gives it. Tables set a family label beside the middle
    of its group ("| | 7B |", "| | 13B |", "| LLaMA | |", "| | 33B |"): when centring every label partitions the rows
    exactly, that is the reading; otherwise a label heads the rows below it."""
    labels, data = [], 0  # (position among data rows, label): a label-only row sits between two data rows
    for cells, _ in rows:
        if _label_only(cells, first):
            labels.append((data - 0.5, cells[0]))
        else:
            labels += [(data, cells[0])] if cells[0] else []
            data += 1
    centred: list[str] = []
    for position, label in labels:
        size = 2 * (position - len(centred)) + 1
        if size < 1 or size != int(size):
            break
        centred += [label] * int(size)
    gaps = any(_label_only(cells, first) for cells, _ in rows) or not rows[0][0][0]
    centring = gaps and len(centred) == data and centred[-1:] == [labels[-1][1]] if labels else False
    out, data, above = [], 0, ""
    for cells, _ in rows:
        above = cells[0] or above
        if _label_only(cells, first):
            out.append("")
            continue
        out.append(centred[data] if centring else above)
        data += 1
    return out


def _label_only(cells: list[str], first: int) -> bool:
    return bool(cells[0]) and not any(c for c in cells[1:]) and not _NUMBER.match(cells[0])


_GROUP_LABEL = re.compile(
    r"^(?:(?:open|closed)[- ]?(?:source|weights?)|proprietary|commercial|base|chat|instruct(?:ion)?|baseline|our|other)?\s*models?\s+",
    re.I,
)


def model_name(cell: str) -> str:
    """A model as the paper names it: hyphenation undone ("Seed- Thinking- v1.5" -> "Seed-Thinking-v1.5"), a group
    label in front dropped ("Open-Weights Models DeepSeek-R1" -> "DeepSeek-R1"), footnote marks trimmed."""
    name = re.sub(r"(?<=\w)-\s+(?=\w)|\s+-(?=\w)", "-", " ".join(cell.split()))
    while (m := _GROUP_LABEL.match(name)) and m.end() < len(name):
        name = name[m.end():]
    return name.strip(" *†‡")


def _by_rows(table: Table, grid: _Grid, known: _Names) -> list[BenchmarkScore]:
    """Benchmarks label the rows; each column is a model (a "# Shots" or "Metric" column gives the setting or metric)."""
    shots = next((i for i, h in enumerate(grid.header) if re.search(r"shot", h, re.I)), None)
    metric_col = next((i for i, h in enumerate(grid.header) if re.fullmatch(r"metrics?", h, re.I)), None)
    caption_setting = _setting(table.caption)
    out = []
    for cells, sentence in grid.rows:
        label = next(((i, m) for i, c in enumerate(cells[:3]) if c and (m := known.match(c))), None)
        if not label:
            continue
        col, (name, rest) = label
        setting = cells[shots] if shots is not None and shots < len(cells) and cells[shots] not in ("", "-") else caption_setting
        metric = cells[metric_col] if metric_col is not None and metric_col < len(cells) else ""
        for i in range(col + 1, len(cells)):
            score = _NUMBER.match(cells[i])
            model = model_name(grid.header[i]) if i < len(grid.header) else ""
            if score and model and i not in (shots, metric_col):
                out.append(_score(name, metric or rest, table.caption, setting, model, score.group(0), sentence))
    return out


def _score(name: str, rest: str, caption: str, setting: str, model: str, score: str, row: Sentence) -> BenchmarkScore:
    metric = _METRIC.search(rest) or _METRIC.search(caption)
    setting = _setting(rest) or setting
    if metric and _SETTING.fullmatch(metric.group(0)):  # "pass@1" is a setting; the column's own ("Pass5") wins
        setting, metric = setting or metric.group(0), None
    return BenchmarkScore(
        benchmark=name, metric=metric.group(0) if metric else "", setting=setting, model=model,
        score=score.strip(), page=row.page, quote=row.text,
    )


def _setting(text: str) -> str:
    m = _SETTING.search(text)
    return m.group(0) if m else ""


def _from_sentences(text: PaperText, known: _Names) -> list[BenchmarkScore]:
    """Scores stated in prose: "a BLEU score of 28.4" (with the one benchmark the sentence names), "68.9% on MMLU"."""
    out = []
    if not known.names:
        return out
    any_name = re.compile(rf"(?<![\w-])(?:{'|'.join(re.escape(n) for n in known.names)})(?![\w-])")
    for s in text.sentences:
        if s.kind not in ("abstract", "body") or not re.search(r"\d", s.text):
            continue
        named = set(any_name.findall(s.text))
        for m in _SCORE_IN_TEXT.finditer(s.text):
            if m.group("score") and len(named) == 1:
                out.append(_prose(next(iter(named)), m.group("metric"), m.group("score"), s))
            elif m.group("score2") and m.group("name") and (hit := known.match(m.group("name"))):
                out.append(_prose(hit[0], m.group("metric2") or "", m.group("score2"), s))
    return out


def _prose(name: str, metric: str, score: str, s: Sentence) -> BenchmarkScore:
    return BenchmarkScore(
        benchmark=name, metric=metric or "", setting=_setting(s.text), model="",
        score=score, page=s.page, quote=s.text,
    )
