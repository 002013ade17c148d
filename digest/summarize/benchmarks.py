"""Benchmark scores read from result tables and from sentences that state them.

A table is read along its benchmark axis: the header (benchmarks as columns, a model per row), the label column
(benchmarks as rows: a model per column, or per row where a "Model" column names it, or the paper's own model where
the columns name measures), or else the caption ("Results on X": a model per row, a metric or setting per column).
An axis that holds a name the paper evaluates on takes the names written beside it too ("Web Questions" beside
TriviaQA); every score keeps its table row as the quote.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from digest.models import BenchmarkScore, Table

from .entities import is_benchmark_name
from .evidence import PaperText, Sentence

MAX_SCORES = 2000
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
_MEASURE = re.compile(  # a header that names what is measured
    r"\b(?:recall|precision|scores?|accuracy|acc|f1|wer|cer|bleu|em|rate|points|factuality|relevance)\b|@\d|%|↑|↓",
    re.I,
)
_ATTRIBUTE = re.compile(
    r"^#|\b(?:size|params?|parameters|tokens|budget|samples?|shots?|year|date|length|context|prompts?|mode|settings?"
    r"|type|license|time|latency|cost|steps|languages)\b", re.I,
)
_QUANTITY = re.compile(r"\b(?:length|tokens|time|latency|cost|size|params)\b", re.I)  # counted, not scored
_SETTING_COLUMN = re.compile(r"\b(?:shots?|budget|samples?|prompts?|mode|decoding)\b", re.I)
_AGGREGATE = re.compile(r"avg\.?|average|overall|mean|total|all", re.I)
_MODEL_GROUP = re.compile(r"(?:[\w-]+\s+){1,2}models?", re.I)  # "Closed-Source | Models": a label over rows
_MODEL_HEADER = re.compile(r"(?:\w+\s+)?(?:models?|methods?|systems?)", re.I)
_BENCHMARK_HEADER = re.compile(
    r"(?:benchmarks?|datasets?|tasks?|contests?|competitions?|test\s+sets?)(?:\s*\(.*\))?", re.I,
)
_CITATION = re.compile(r"\s*\[\d+(?:\s*[,–-]\s*\d+)*\]")
_SIZE = re.compile(r"\b\d+(?:\.\d+)?[BMK]\b")
_SIZED = re.compile(r"\d(?:\.\d+)?[BMK]\b")  # a size anywhere in a name: "LLaMA 2 7B", "Mixtral 8x7B"
_RESULTS = re.compile(r"\b(?:performance|results?|accuracy|scores?|comparison|compared|evaluation)\b", re.I)
_SETUP = re.compile(r"hyper-?parameters?|\bstatistics\b|\bconfigurations?\b", re.I)  # tables of set-up, not results
_CAPTION_NAME = re.compile(  # not "finetuned on PaLM 540B generated ...": a model, by its size
    r"(?<!trained )(?<!tuned )\bon\s+(?:the\s+)?(?P<a>[\w.+-]*\w)(?:\s+and\s+(?P<b>[\w.+-]*\w))?"
    r"(?!\s+\d+(?:\.\d+)?[BMK]\b)"
    r"|(?P<c>[\w.+-]*\w)\s+(?:benchmarks?|datasets?|test\s+set|results)\b",
    re.I,
)


@dataclass
class _Grid:
    header: list[str]  # per column: the header rows' cells joined (a spanning group label over its sub-columns)
    lowest: list[str]  # per column: its lowest header cell ("HumanEval" under a "Size" label spread too far)
    rows: list[tuple[list[str], Sentence]]  # data rows, with the row as a quotable sentence


def read_scores(text: PaperText, names: list[str]) -> list[BenchmarkScore]:
    """Scores for the benchmarks in `names` from the result tables (not those whose caption opens on hyperparameters
    or statistics), then from sentences; the paper's own models (the names it introduces, then those its title
    coins) first and marked `own`, tables before sentences."""
    from .facts import own_names as introduced  # facts reads the title names below

    main, coined = introduced(text), own_names(text.parsed.title)
    own = list(dict.fromkeys(main + coined))
    known = _Names(names)
    scores: list[BenchmarkScore] = []
    for table in text.parsed.tables:
        here = known.with_caption(table.caption, coined)
        grid = None if _set_up(table.caption) else _grid(table, text.table_rows(table), here)
        if grid:
            scores += (_by_columns(table, grid, here) or _by_rows(table, grid, here, own)
                       or _by_caption(table, grid, here, own))
    scores += _from_sentences(text, known)
    unique = {(b.benchmark, b.metric, b.setting, b.model, b.score): b for b in scores
              if not _QUANTITY.search(f"{b.metric} {b.setting}")}
    marked = [b.model_copy(update={"own": _is_own(b.model, own)}) for b in unique.values()]
    return sorted(marked, key=lambda b: not b.own)[:MAX_SCORES]


def _set_up(caption: str) -> bool:
    """Whether a caption opens on the set-up of experiments, not their results ("The hyperparameters we used",
    "Dataset statistics"; not "Hyperparameter analysis ... accuracy")."""
    opening = re.split(r"\.\s", caption)[0]
    results = _RESULTS.search(opening) or re.search(r"\banalysis\b", opening, re.I)
    return bool(_SETUP.search(opening)) and not results


def own_names(title: str) -> list[str]:
    """The model names a title coins: its head before a colon when short, and words written as names (LLaMA,
    Kimi-Audio, Qwen3-ASR, DeepSeek-Prover-V1.5)."""
    head = title.split(":")[0].strip().split()
    words = [w.strip(".,") for w in re.findall(r"[\w.-]+", title)]
    coined = [w for w in words if re.search(r"[a-z][A-Z]|[A-Z]{2}|\d|^[A-Z][a-z]+-[A-Z]", w)
              and not re.fullmatch(r"LLMs?|[A-Z][a-z]+-of-[A-Z]\w+|\d+(?:\.\d+)?[BMKT]", w)]  # not "7B" of "Mistral 7B"
    return head[:1] * (0 < len(head) <= 3 and head[0][:1].isupper()) + coined  # "Granite" of "Granite Code Models: ..."


def _is_own(model: str, own: list[str]) -> bool:
    """Whether a row's model is one the paper introduces: it holds one of the paper's own names as a whole token."""
    return any(re.search(rf"(?<![\w.]){re.escape(name)}(?![\w]|\.\d)", model, re.I) for name in own)


class _Names:
    """The benchmark names the paper evaluates on, matched in table cells ("MMLU (EM)", "GSM8k")."""

    def __init__(self, names: list[str]):
        self.names = sorted(names, key=len, reverse=True)
        self.folded = {n.lower(): n for n in names}

    def with_caption(self, caption: str, own: list[str]) -> _Names:
        """These names and those a table's caption gives benchmarks ("Results on RealScholarQuery", "miniF2F-test
        results"): written as names, with inner capitals, digits or as an acronym, and none holding a name the
        title coins (`own`: "S2ORC-SCIBERT test results")."""
        found = (n for m in _CAPTION_NAME.finditer(caption) for n in m.group("a", "b", "c") if n)
        extra = [n for n in dict.fromkeys(found) if _coined(n) and n.lower() not in self.folded and not _is_own(n, own)]
        return _Names(self.names + extra) if extra else self

    def in_caption(self, caption: str) -> list[str]:
        """The names a caption holds as whole words, none inside a longer one it holds."""
        out: list[str] = []
        for name in self.names:
            m = re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", caption, re.I)
            if m and _same_case(m.group(0), name) and not any(name.lower() in o.lower() for o in out):
                out.append(name)
        return out

    def inside(self, cell: str) -> tuple[str, str] | None:
        """(benchmark, what follows it) for a cell that names one after a group label ("Chinese C-Eval (EM)")."""
        for name in self.names:
            m = re.search(rf"(?<=\s){re.escape(name)}(?![\w-])", cell, re.I)
            if m and _same_case(m.group(0), name):
                return m.group(0), _tail(cell[m.end():])
        return None

    def match(self, cell: str) -> tuple[str, str] | None:
        """(benchmark, what follows it: metric or setting) when the cell names one of the benchmarks, another name
        the gazetteer knows as a benchmark ("WinoG" in a table when the prose says "WinoGrande"), or one by its
        capitals ("BCB-Instruct" for BigCodeBench). An acronym matches only in its own case: "Race/Color" is not
        RACE."""
        cell = " ".join(_CITATION.sub("", cell).split())
        base = re.split(r"\s*[(\[]", cell)[0].strip()
        if base.lower() in self.folded and _same_case(base, self.folded[base.lower()]) or is_benchmark_name(base):
            return base, _tail(cell[len(base):])
        for name in self.names:
            if re.match(rf"{re.escape(name)}(?![\w-])", cell, re.I) and _same_case(cell[: len(name)], name):
                return cell[: len(name)], _tail(cell[len(name):])
        acronym = re.match(r"[A-Z]{2,}(?![a-z])", cell)
        for name in self.names if acronym else ():
            capitals = "".join(c for c in name if c.isupper())
            if len(capitals) >= 3 and capitals == acronym.group(0) != name:
                return name, _tail(cell[acronym.end():])
        return None


def _tail(text: str) -> str:
    """What follows a name, out of its brackets: " (EM)" -> "EM", "[0-shot]" -> "0-shot", "-Instruct Full"."""
    text = text.strip(" -")
    while text[:1] in ("(", "[") and text[-1:] in (")", "]") and not re.search(r"[)\]].*[(\[]", text[1:-1]):
        text = text[1:-1].strip()
    return text


def _same_case(written: str, name: str) -> bool:
    """Written as the name, or either has at most one capital: "CruxEval" is CRUXEval, "Race" is not RACE."""
    return written == name or sum(c.isupper() for c in name) < 2 or sum(c.isupper() for c in written) >= 2


def _coined(word: str) -> bool:
    """Written as a coined name: inner capitals, letters with digits, or an acronym ("miniF2F-test", "DS-1000")."""
    return bool(re.search(r"[a-z][A-Z]|[A-Za-z]\d|\d[A-Za-z]|[A-Z]{2}", word)) and not _METRIC.fullmatch(word)


def _cells(row: str) -> list[str]:
    """The cells of a Markdown row; an escaped pipe ("1.28 \\| 2.42") stays inside its cell."""
    return [" ".join(c.replace("\\|", "|").split()) for c in re.split(r"(?<!\\)\|", row.strip().strip("|"))]


def _bare(cell: str) -> str:
    """A cell without its citation marks ("LibriSpeech [54]")."""
    return _CITATION.sub("", cell).strip()


def _grid(table: Table, sentences: list[Sentence], known: _Names) -> _Grid | None:
    """Header (rows before the first row holding two numbers, or one in a table of one score column, less the group
    labels right above it and those of model groups: "Base Models") and data rows of a table."""
    by_text = {s.text: s for s in sentences}
    parsed = [(_cells(r), by_text.get(" ".join(r.split()))) for r in table.rows if not re.fullmatch(r"[|\s:-]+", r)]
    counts = [sum(bool(_NUMBER.match(c)) for c in cells) for cells, _ in parsed]
    first = next((i for i, n in enumerate(counts) if n >= 2), None)
    if first is None and max(counts, default=0) == 1:  # no header when the first row holds a score too
        first = next(i for i, n in enumerate(counts) if n)
    if first is None:
        return None
    while first > 1 and _label_only(parsed[first - 1][0]) and not _MODEL_HEADER.fullmatch(parsed[first - 1][0][0]):
        first -= 1  # "LibriSpeech" over its row of values
    width = max(len(cells) for cells, _ in parsed)
    pad = lambda cells: cells + [""] * (width - len(cells))  # noqa: E731
    heads = [_prefixed(pad(cells)) for n, (cells, _) in enumerate(parsed[:first])
             if n == 0 or not (_attribute_row(cells, known) or _MODEL_GROUP.fullmatch(" ".join(c for c in cells if c)))]
    lowest = [next((h[i] for h in reversed(heads) if h[i]), "") for i in range(width)]
    rows = [(pad(cells), s) for cells, s in parsed[first:] if s is not None]
    numeric = [any(_NUMBER.match(cells[i]) for cells, _ in rows) for i in range(width)]
    filled = [sum(bool(c) for c in h[1:]) for h in heads]
    for n in range(len(heads) - 1):  # each row over the next one below that fills more columns ("Model |" rows between)
        below = next((m for m in range(n + 1, len(heads)) if filled[m] > filled[n]), n + 1)
        named = {i for m, h in enumerate(heads) if m not in (n, below) for i, c in enumerate(h) if c}
        heads[n] = _spread(heads[n], heads[below], [x and i not in named for i, x in enumerate(numeric)], named)
    header = [_join([h[i] for h in heads]) for i in range(width)]
    return _Grid(header, lowest, rows)


def _prefixed(cells: list[str]) -> list[str]:
    """A header row labelled "pass@" over "@1 | @100": each sub-header as "pass@1"."""
    if not cells[0].endswith("@"):
        return cells
    return [""] + [cells[0] + c[1:] if c.startswith("@") else c for c in cells[1:]]


def _spread(upper: list[str], lower: list[str], numeric: list[bool], named: set[int]) -> list[str]:
    """A group label over sub-columns ("HumanEval" over "@1 | @100") repeated on each; sub-columns split evenly
    among the labels when they divide, else each goes to the nearest label on its left, if both hold scores or
    neither does. A column another header row names ("DeepSeek" over "67B Chat") is a name in pieces, not part of
    a group."""
    labels = [i for i in range(1, len(upper)) if upper[i] and (lower[i] or numeric[i])]
    subs = [j for j in range(1, len(lower)) if lower[j] and (upper[j] or j not in named)]
    if len(subs) <= len(labels) or not labels:
        return upper
    out = list(upper)
    even = len(subs) % len(labels) == 0
    for n, j in enumerate(subs):
        left = [i for i in labels if i <= j]
        label = labels[n * len(labels) // len(subs)] if even else left[-1] if left else labels[0]
        if numeric[label] == numeric[j] or label == j:  # not "Active" over "Params" onto the score columns
            out[j] = upper[label]
    return out


def _join(parts: list[str]) -> str:
    """Header cells stacked in one column, as one label: "S2ORC-" + "SCIBERT", "GPT-4o" + "-Transcribe";
    "pass@" (a row label) + "@1" -> "pass@1"."""
    out = ""
    for part in (p for p in parts if p):
        out = out + part if out.endswith("-") or part.startswith("-") else f"{out} {part}".strip()
    return out


def _attribute_row(cells: list[str], known: _Names) -> bool:
    """A header row that describes the models ("Architecture | MoE | Dense"), not names them ("Benchmark (Metric) |
    QwQ-32B | OpenAI") nor the benchmarks of its columns ("Model | Params | MMLU")."""
    return (bool(cells and cells[0]) and not cells[0].endswith("@") and sum(bool(c) for c in cells[1:]) >= 2
            and not _BENCHMARK_HEADER.fullmatch(cells[0]) and not any(known.match(c) for c in cells[1:] if c))


def _numeric(grid: _Grid) -> list[int]:
    """The columns that hold a score in some row."""
    return [i for i in range(len(grid.header)) if any(_NUMBER.match(cells[i]) for cells, _ in grid.rows)]


def _measure_only(cell: str) -> bool:
    """A header that names a measure and no model: "Points", "Chat Score↑", not "CoT PaLM Acc."."""
    named = re.search(r"[a-z][A-Z]|[A-Za-z]\d|\d[BMK]\b", cell)
    return bool(_MEASURE.search(cell)) and len(cell.split()) <= 3 and not named


def _name_like(cell: str) -> bool:
    """Written as a benchmark's name ("HSK-6", "Web Questions", "GigaSpeech"): a few capitalised words, not a
    language code ("ZH"), a measure, an aggregate ("Avg."), an attribute of the models ("# Params") or a size."""
    words = cell.split()
    return (0 < len(words) <= 4 and len(cell) >= 3 and all(w[0].isupper() or w[0].isdigit() for w in words) and not _MEASURE.search(cell)
            and not _AGGREGATE.fullmatch(cell) and not _ATTRIBUTE.search(cell) and not _SIZE.search(cell)
            and not _METRIC.fullmatch(cell))


def _by_columns(table: Table, grid: _Grid, known: _Names) -> list[BenchmarkScore]:
    """Benchmarks head the columns (with the names written beside them); each row is a model."""
    header = grid.header
    columns = {i: m for i in range(1, len(header)) if (m := known.match(header[i]) or known.match(grid.lowest[i]))}
    if not columns:
        return []
    beside = {i: m for i in _numeric(grid) if i and i not in columns and header.count(header[i]) == 1
              and (m := _written_name(header[i]))}
    columns |= beside
    first = min(columns)
    return _model_rows(table, grid, columns, first)


def _by_caption(table: Table, grid: _Grid, known: _Names, own: list[str]) -> list[BenchmarkScore]:
    """A table whose caption names its one benchmark and whose columns do not ("Results on RealScholarQuery"): a
    model per row, each score column a metric or setting of that benchmark. Its rows must name one of the paper's
    `own` models: rows of subjects or categories under model columns are not models."""
    named = known.in_caption(table.caption)
    numeric = [i for i in _numeric(grid) if not _SETTING_COLUMN.search(grid.header[i])]
    numeric = [i for i in numeric if grid.header[i] or len(numeric) == 1]
    if len(named) != 1 or not numeric or not min(numeric):
        return []
    scores = _model_rows(table, grid, {i: (named[0], grid.header[i]) for i in numeric}, min(numeric))
    return scores if any(_is_own(b.model, own) for b in scores) else []


def _model_rows(table: Table, grid: _Grid, columns: dict[int, tuple[str, str]], first: int) -> list[BenchmarkScore]:
    """A score per row and column of `columns` (benchmark, what the column adds): the row's model from its cells
    before `first` (a size-only row takes the family its group is labelled with: "| | 65B |" under "| LLaMA | |"),
    its setting from a "# Shots" or "Sample budget" column there, else from the caption; an attribute column
    there ("Active Params") is part of the name only when the name has no size of its own."""
    settings = [i for i in range(first) if _SETTING_COLUMN.search(grid.header[i])]
    attributes = [i for i in range(first) if i not in settings and _ATTRIBUTE.search(grid.header[i])]
    label = " ".join(grid.header[i] for i in settings)
    caption_setting = _setting(table.caption)
    out = []
    for (cells, sentence), family in zip(grid.rows, _families(grid.rows)):
        named = [(i, c) for i, c in enumerate(cells[:first]) if c and i not in settings]
        sized = any(_SIZED.search(c) for i, c in named if i not in attributes)  # "Mixtral 8x7B" | "13B" active
        named = [c for i, c in named if not (sized and i in attributes)]
        parts = [c for c in named if not _NUMBER.match(c)] or named
        if family and not cells[0]:
            parts = [family, *parts]
        model = model_name(" ".join(parts))
        value = " ".join(cells[i] for i in settings if cells[i])
        setting = (f"{label} {value}" if _NUMBER.match(value) else value) if value else caption_setting
        for i, (name, rest) in columns.items():
            score = _NUMBER.match(cells[i]) if i < len(cells) else None
            if score and model:
                out.append(_score(name, rest, table.caption, setting, model, score.group(0), sentence))
    return out


def _families(rows: list[tuple[list[str], Sentence]]) -> list[str]:
    """For each row, the family its first cell or its group gives it. Tables set a family label beside the middle
    of its group ("| | 7B |", "| | 13B |", "| LLaMA | |", "| | 33B |"): when centring every label partitions the rows
    exactly, that is the reading (a label right after a whole group heads a section, as "Tree search methods");
    otherwise a label heads the rows below it."""
    labels, data = [], 0  # (position among data rows, label): a label-only row sits between two data rows
    for cells, _ in rows:
        if _label_only(cells):
            labels.append((data - 0.5, cells[0]))
        else:
            labels += [(data, cells[0])] if cells[0] else []
            data += 1
    centred: list[str] = []
    for position, label in labels:
        size = 2 * (position - len(centred)) + 1
        if size == 0:
            continue
        if size < 1 or size != int(size):
            break
        centred += [label] * int(size)
    gaps = any(_label_only(cells) for cells, _ in rows) or not rows[0][0][0]
    centring = gaps and len(centred) == data and centred[-1:] == [labels[-1][1]] if labels else False
    out, data, above = [], 0, ""
    for cells, _ in rows:
        above = cells[0] or above
        if _label_only(cells):
            out.append("")
            continue
        out.append(centred[data] if centring else above)
        data += 1
    return out


def _label_only(cells: list[str]) -> bool:
    return bool(cells[0]) and not any(_bare(c) for c in cells[1:]) and not _NUMBER.match(cells[0])


_GROUP_LABEL = re.compile(
    r"^(?:(?:open|closed)[- ]?(?:source|weights?)|proprietary|commercial|base|chat|instruct(?:ion)?|baseline|our|other)?\s*models?\s+",
    re.I,
)


def model_name(cell: str) -> str:
    """A model as the paper names it: hyphenation undone ("Seed- Thinking- v1.5" -> "Seed-Thinking-v1.5"), a group
    label in front dropped ("Open-Weights Models DeepSeek-R1" -> "DeepSeek-R1"), citations ("[49]", "(Lin et al.
    2025)"), footnote marks and the dashes of empty cells ("GPT-4o---") trimmed."""
    cell = re.sub(r"\s*\([^()]*\bet al\b[^()]*\)", "", _CITATION.sub("", cell))
    name = re.sub(r"(?<=\w)-\s+(?=\w)|\s+-(?=\w)", "-", " ".join(cell.split()))
    while (m := _GROUP_LABEL.match(name)) and m.end() < len(name):
        name = name[m.end():]
    return name.strip(" *†‡").rstrip(" -–—")


def _by_rows(table: Table, grid: _Grid, known: _Names, own: list[str]) -> list[BenchmarkScore]:
    """Benchmarks label the rows: a model per column, or per row where a "Model" column names it, or the paper's
    main model (the first of `own`) where the score columns name measures ("Points"); a "# Shots" or "Metric" column
    gives the setting or metric. A split cell ("1.28 | 2.42") holds one score per sub-label its group names. In a
    results table that scores the paper's own model (or has a "Model" column), names the paper does not evaluate on
    are read from the label column too when it is headed "Benchmark" or holds a name the paper does."""
    col = _label_column(grid, known)
    if col is None:
        return []
    header = grid.header
    model_col = next((i for i, h in enumerate(header) if i != col and _MODEL_HEADER.fullmatch(h)), None)
    shots = next((i for i, h in enumerate(header) if re.fullmatch(r"(?:#|n|num(?:ber)?\.?)?\s*shots?", h, re.I)), None)
    metric_col = next((i for i, h in enumerate(header) if re.fullmatch(r"metrics?", h, re.I)), None)
    values = [i for i in _numeric(grid) if i > col and i not in (model_col, shots, metric_col)]
    named = {m[0] for cells, _ in grid.rows if cells[col] and (m := known.match(cells[col]))}
    headed = bool(_BENCHMARK_HEADER.fullmatch(header[col])) or len(named) >= 2
    measured = model_col is None and bool(values) and all(_measure_only(header[i]) for i in values)
    if measured and not (own and headed):  # "System | Dev EM | Test EM": systems, not benchmarks, label its rows
        return []
    scored = measured or model_col is not None or any(_is_own(header[i], own) for i in values)  # "| Qwen3-ASR-1.7B |"
    open_axis = (headed or bool(named)) and scored and (measured or bool(_RESULTS.search(table.caption)))
    caption_setting = _setting(table.caption)
    out = []
    labels = _row_labels(grid, col, model_col, known, open_axis)
    for (cells, sentence), (name, rest, at, subs) in zip(grid.rows, labels):
        setting = cells[shots] if shots is not None and cells[shots] not in ("", "-") else caption_setting
        metric = cells[metric_col] if metric_col is not None else ""
        columns = [i for i in range(at + 1, len(cells)) if i not in (shots, metric_col, model_col)]
        named_model = model_name(cells[model_col]) if model_col is not None else ""
        for i, score, sub in _row_scores(cells, columns, subs, joined=model_col is not None) if name else ():
            column_model = "" if _ATTRIBUTE.search(header[i]) else model_name(header[i])  # not "# Samples"
            model = named_model or (own[0] if measured else column_model)
            what = f"{rest} {header[i]}".strip() if measured or model_col is not None else rest  # "Points", "WER"
            if model:
                out.append(_score(name, metric or what, table.caption, sub or setting, model, score, sentence))
    return out


def _row_scores(cells: list[str], columns: list[int], subs: list[str], joined: bool) -> list[tuple[int, str, str]]:
    """(column, score, sub-label) for the scores of a row: one per column, or one per sub-label of a split cell
    ("1.28 | 2.42" under "test-clean | test-other"); `joined`: the score columns read as one run of scores (a row
    whose model a "Model" column names)."""
    runs = [([i], cells[i]) for i in columns]
    if joined:
        runs = [(columns, " ".join(text for _, text in runs if text))]
    out = []
    for span, text in runs:
        found = _split(text)
        at = next((i for i in span if _NUMBER.match(cells[i])), span[0] if span else 0)
        if len(found) == 1 and found[0]:
            out.append((at, found[0], ""))
        elif len(found) == len(subs) > 1:
            out += [(at, score, sub) for score, sub in zip(found, subs) if score]
    return out


def _split(cell: str) -> list[str]:
    """The scores of a cell, one per part of a split cell ("1.28 | 2.42"); "" where a part holds none ("-")."""
    parts = [p.strip() for p in cell.split("|") if p.strip()]
    return [m.group(0) if (m := _NUMBER.match(p)) else "" for p in parts]


def _label_column(grid: _Grid, known: _Names) -> int | None:
    """The column (of the first three) that names the benchmarks: the one holding most names the paper evaluates on,
    else one headed "Benchmark", "Dataset", "Task" or "Contest"."""
    span = range(min(3, len(grid.header)))
    counts = [sum(bool(cells[i] and known.match(cells[i])) for cells, _ in grid.rows) for i in span]
    if any(counts):
        return max(span, key=counts.__getitem__)
    return next((i for i in span if _BENCHMARK_HEADER.fullmatch(grid.header[i])), None)


def _row_labels(grid: _Grid, col: int, model_col: int | None, known: _Names,
                open_axis: bool) -> list[tuple[str, str, int, list[str]]]:
    """For each row, (benchmark, what follows it, the column it is in, the sub-labels of its group). A row names its
    benchmark in its first three cells, or (on an `open_axis`) in the label column by a name written as one; a row
    with no label there takes its group's."""
    groups = _row_groups(grid.rows, col, model_col)
    texts: dict[int, list[str]] = {}
    for (cells, _), group in zip(grid.rows, groups):
        text = " ".join(_bare(c) for c in cells if _bare(c)) if _label_row(cells) else _bare(cells[col])
        if group is not None and text:
            texts.setdefault(group, []).append(text)
    out = []
    for (cells, _), group in zip(grid.rows, groups):
        mine = texts.get(group, []) if group is not None else []
        subs = [p.strip() for t in mine[1:] for p in t.split("|") if p.strip()]
        hit = next(((i, m) for i, c in enumerate(cells[:3]) if c and (m := known.match(c))), None)
        label = _bare(cells[col]) or (mine[0] if mine else "")
        if hit:
            out.append((*hit[1], hit[0], subs))
        elif label and "|" not in label and (m := known.match(label) or known.inside(label)
                                              or (open_axis and _written_name(label))):
            out.append((*m, col, subs))
        else:
            out.append(("", "", col, []))
    return out


def _written_name(label: str) -> tuple[str, str] | None:
    """(name, what follows it) for a label written as a benchmark's name ("Loogle [0-shot]", "CRUXEval-O Pass1")."""
    cut = r"\s*[(\[]|\s+(?=pass@?\d|\d+-shot|\d+\.\d+$)"  # "MLS 13.32": a column cut missed
    base = re.split(cut, label, flags=re.I)[0].strip()
    return (base, _tail(label[len(base):])) if _name_like(base) else None


def _label_row(cells: list[str]) -> bool:
    """A row with no score: a group's label or its sub-labels."""
    return not any(_NUMBER.match(p.strip()) for c in cells for p in c.split("|"))


def _row_groups(rows: list[tuple[list[str], Sentence]], col: int, model_col: int | None) -> list[int | None]:
    """A group number per row. Where a model column runs through the same models again, each run is a group (a
    label row joins the run below it); otherwise a label row with no scores starts a group that its unlabelled
    rows below join ("LibriSpeech", then its row of values, then "clean | other"). None: no group."""
    models = [cells[model_col] if model_col is not None and not _label_row(cells) else "" for cells, _ in rows]
    if any(models.count(m) > 1 for m in models if m):
        out, seen, group = [], set(), 0
        for model in models:
            if model in seen:
                group, seen = group + 1, set()
            seen |= {model} - {""}
            out.append(group if model else None)
        following = [next((g for g in out[n:] if g is not None), group) for n in range(len(out))]
        return [g if g is not None else following[n] for n, g in enumerate(out)]
    out, group = [], None
    for n, (cells, _) in enumerate(rows):
        label = _bare(cells[col])
        if label and "|" not in label:
            group = n if _label_row(cells) else None
        out.append(n if label and "|" not in label and not _label_row(cells) else group)
    return out


def _score(name: str, rest: str, caption: str, setting: str, model: str, score: str, row: Sentence) -> BenchmarkScore:
    """A score: its metric and setting from what its column adds to the benchmark ("(EM)", "pass@1"), else from the
    caption; a column named otherwise is the metric when it names a measure ("Recall@20"), else the setting ("Full")."""
    metric = _METRIC.search(rest) or _METRIC.search(caption)
    setting = _setting(rest) or setting
    if metric and _SETTING.fullmatch(metric.group(0)):  # "pass@1" is a setting; the column's own ("Pass5") wins
        setting, metric = setting or metric.group(0), None
    metric = metric.group(0) if metric else ""
    label = _tail(rest)
    if label and not _METRIC.search(label) and not _SETTING.search(label) and not re.fullmatch(r"[\d.%\s]+", label):
        if _MEASURE.search(label):
            metric = label
        else:
            setting = f"{label}, {setting}" if setting else label
    return BenchmarkScore(
        benchmark=name, metric=metric, setting=setting, model=model,
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
