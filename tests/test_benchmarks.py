"""Benchmark scores read from real result tables (digest/summarize/benchmarks.py): each table layout on a shared
paper that prints it, the table parse it needs (digest/parse/floats.py), and tables that must not be read."""

from __future__ import annotations

from functools import cache

import pytest

from digest.models import BenchmarkScore
from digest.parse import parse_pdf
from digest.summarize import entities
from digest.summarize.benchmarks import read_scores
from digest.summarize.evidence import PaperText

from conftest import shared_path


@cache
def scores(aid: str) -> list[BenchmarkScore]:
    """The score rows of a shared paper (the more corpus, else the dev one)."""
    pdf = shared_path("corpus", "more", "pdf", f"{aid}.pdf")
    if not pdf.exists():
        pdf = shared_path("corpus", "pdf", f"{aid}.pdf")
    text = PaperText(parse_pdf(pdf, aid))
    names, _ = entities.evaluation_names(text, entities.find_mentions(text))
    return read_scores(text, names)


def find(aid: str, benchmark: str, model: str, score: str) -> BenchmarkScore:
    rows = [b for b in scores(aid) if (b.benchmark, b.model, b.score) == (benchmark, model, score)]
    assert rows, f"{aid}: no {benchmark} {model} {score}"
    return rows[0]


def test_benchmark_rows_with_split_cells_under_model_columns():
    """Qwen3-ASR Table 3: models as columns (named over two header rows), "LibriSpeech" above its row of
    "clean | other" scores, and names beside it the paper never lists (GigaSpeech, AISHELL-2-test)."""
    assert find("2601.21337", "LibriSpeech", "Qwen3-ASR-1.7B", "1.63").setting == "clean"
    assert find("2601.21337", "LibriSpeech", "Qwen3-ASR-1.7B", "3.38").setting == "other"
    assert find("2601.21337", "WenetSpeech", "Qwen3-ASR-1.7B", "4.97").setting == "net"
    assert find("2601.21337", "GigaSpeech", "Qwen3-ASR-1.7B", "8.45").own
    assert find("2601.21337", "AISHELL-2-test", "GPT-4o-Transcribe", "4.24")


def test_a_model_column_that_repeats_its_models_groups_rows_under_one_benchmark():
    """Kimi-Audio Tables 4-6: "Datasets | Model | Performance", each benchmark set beside the middle of its block
    of models, its sub-labels ("test-clean | test-other", "AdvBench | Avg") naming the scores split in a cell."""
    assert find("2504.18425", "LibriSpeech", "Kimi-Audio", "1.28").setting == "test-clean"
    assert find("2504.18425", "AISHELL-1", "Kimi-Audio", "0.60").setting == ""
    assert find("2504.18425", "AISHELL-1", "Qwen2.5-Omni", "1.13")  # its block's first rows, above the label
    assert find("2504.18425", "MMAU", "Kimi-Audio", "73.27").setting == "sound"
    assert find("2504.18425", "VoiceBench", "Kimi-Audio", "76.93").setting == "Avg"


def test_a_caption_names_the_benchmark_of_metric_columns():
    """PaSa Table 6, "Results on RealScholarQuery.": a model per row, a metric per column."""
    assert find("2501.10120", "RealScholarQuery", "PaSa-7b", "0.6111").metric == "Recall"
    assert find("2501.10120", "RealScholarQuery", "PaSa-7b", "0.5798").metric == "Recall@20"
    assert find("2501.10120", "RealScholarQuery", "PaSa-7b", "0.5146").own


def test_a_column_of_measures_scores_the_papers_own_model():
    """DeepSeekMath-V2 Table 1, "Contest | Problems | Points": no model named, the paper's own one scored."""
    own = {(b.benchmark, b.score) for b in scores("2511.22570") if b.model == "DeepSeekMath-V2" and b.own}
    assert {("IMO 2025", "83.3%"), ("CMO 2024", "73.8%"), ("Putnam 2024", "98.3%")} <= own


def test_names_beside_a_known_benchmark_head_columns_too():
    """Step-Audio Table 6: TriviaQA is listed, Llama Question and HSK-6 stand beside it."""
    assert find("2502.11946", "Llama Question", "Step-Audio-Chat", "81.0").own
    assert find("2502.11946", "HSK-6", "Step-Audio-Chat", "86.0")


def test_centred_group_labels_under_section_rows():
    """DeepSeek-Prover-V1.5 Table 1: each model beside the middle of its sample budgets, "Tree Search Methods" a
    section between groups; the benchmark from the caption ("on the miniF2F-test dataset")."""
    rl = find("2408.08152", "miniF2F-test", "DeepSeek-Prover-V1.5-RL + RMaxTS", "63.5%")
    assert "32 × 6400" in rl.setting
    assert find("2408.08152", "miniF2F-test", "DeepSeek-Prover-V1.5-RL + RMaxTS", "55.0%")  # above its label
    assert find("2408.08152", "miniF2F-test", "DeepSeek-Prover-V1.5-SFT + RMaxTS", "59.0%")


def test_table_notes_and_neighbouring_figures_leave_the_columns_whole():
    """Granite Table 15 has notes under it that cross every column; MoBA's Table 2 sits above its caption with a
    plot below it."""
    assert find("2405.04324", "GSM8K", "Granite-8B-Code-Base", "61.9").own
    assert find("2502.13189", "Loogle", "Llama-8B-1M-MoBA", "0.4209").setting == "0-shot"


@pytest.mark.parametrize("model", ["All", "her/her/she", "Abstract Algebra"])
def test_category_rows_under_model_columns_are_not_models(model):
    """LLaMA's WinoGender and MMLU-by-subject tables name their benchmark in the caption but list categories, not
    models, in their rows."""
    assert not [b for b in scores("2302.13971") if b.model == model]


def test_a_model_header_row_naming_benchmarks_heads_the_columns_and_an_attribute_column_is_no_part_of_a_sized_name():
    """Mixtral Table 2: "Active | Params" stacked over its column, "Model | Params | MMLU | HellaS ..." below: the
    benchmark row is the header (not a row describing models), "Active" labels no score column, and the active
    parameter count (13B) is not part of "Mixtral 8x7B"."""
    assert find("2401.04088", "MMLU", "Mixtral 8x7B", "70.6%").own
    assert find("2401.04088", "HellaS", "Mixtral 8x7B", "84.4%")
    assert find("2401.04088", "MMLU", "LLaMA 2 70B", "69.9%")
    assert not [b for b in scores("2401.04088") if b.benchmark.startswith("Active") or b.model.endswith(("B 13B", "B 7B"))]
