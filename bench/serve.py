"""`digest serve` against the cold command line: answer latency and page rendering with the quote highlighted.

    python bench/serve.py [--workspace out/bench-serve] [--questions N] [--cold N] [--pages N] [--json OUT]

Builds (once) a workspace holding every shared PDF, indexed and summarized (extractive). Then, in one run:
- warm answers: `digest serve` started as a subprocess; after one warm-up question, each question of
  ../shared/eval/qa_dev.jsonl (then bench/qa_extra.jsonl) is POSTed to /ask over HTTP on loopback in a session of its
  own, the answer page fetched, and the round trip timed (target p50 <= 1 s);
- the same questions asked of the library in this process (`ask_turn`, warm), to tell the app's share;
- cold answers: `digest ask --backend extractive` run as a new process for the first `--cold` of those questions,
  as a terminal user pays it;
- page rendering: the PNG of the page of `--pages` pieces of survey evidence with the quote highlighted (target
  p50 <= 300 ms), against the same pages without a highlight, and the evidence page (HTML) that shows it; and how
  each quote was found on its page (verbatim, by aligned words, or not at all).
Each is timed in wall seconds and in CPU seconds of the process doing the work (the server, this process or the
`digest ask` child). Ratios are printed against the baselines measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import socket
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import psutil
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import PDF_DIR, QA_DEV, QA_EXTRA, ROOT, load_questions  # noqa: E402
from digest.ask import ask_turn  # noqa: E402
from digest.catalog import Catalog  # noqa: E402
from digest.export import load_entries  # noqa: E402
from digest.export.sheet import build_sheet  # noqa: E402
from digest.index import Index  # noqa: E402
from digest.settings import Settings  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")
DIGEST = Path(sys.executable).parent / "digest"
TARGETS = {"answer_p50_s": 1.0, "render_p50_ms": 300.0}
WARM_UP = "What is this corpus about?"  # the first question: loads the embedder and the index


def digest(ws: Path, *args: str, **options) -> subprocess.CompletedProcess:
    return subprocess.run([str(DIGEST), "-w", str(ws), "-q", *args], text=True, capture_output=True,
                          env={**os.environ, "DIGEST_BACKEND": "extractive"}, **options)


def workspace(ws: Path) -> None:
    """Every shared PDF added, indexed and summarized with the command line; skipped when already done."""
    if (ws / "index" / "CURRENT").exists():
        return
    ws.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    for step in (["add", str(PDF_DIR)], ["index"], ["summarize", "--backend", "extractive"]):
        result = digest(ws, *step)
        if result.returncode not in (0, 1):
            sys.exit(f"digest {' '.join(step)} failed: {result.stderr[-2000:]}")
    print(f"built the workspace in {time.perf_counter() - started:.0f} s")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(ws: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    server = subprocess.Popen([str(DIGEST), "-w", str(ws), "serve", "--port", str(port)],
                              env={**os.environ, "DIGEST_BACKEND": "extractive"},
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            requests.get(f"{base}/add", timeout=5)
            return server, base
        except requests.ConnectionError:
            if server.poll() is not None:
                sys.exit(f"digest serve exited: {server.stderr.read()[-2000:]}")
            time.sleep(0.2)
    server.kill()
    sys.exit("digest serve did not answer within 120 s")


class Meter:
    """Wall seconds and CPU seconds of what it measures: the server process (all its threads), this process, or
    the child processes run meanwhile."""

    def __init__(self, server: psutil.Process | None = None, children: bool = False):
        self.server, self.children = server, children
        self.walls: list[float] = []
        self.cpus: list[float] = []

    def _cpu(self) -> float:
        if self.server is not None:
            times = self.server.cpu_times()
            return times.user + times.system
        if self.children:
            usage = resource.getrusage(resource.RUSAGE_CHILDREN)
            return usage.ru_utime + usage.ru_stime
        return time.process_time()

    @contextmanager
    def __call__(self):
        cpu, wall = self._cpu(), time.perf_counter()
        yield
        self.walls.append(time.perf_counter() - wall)
        self.cpus.append(self._cpu() - cpu)

    def p50(self) -> tuple[float, float]:
        """Median wall and CPU seconds."""
        return statistics.median(self.walls), statistics.median(self.cpus)


def ask_over_http(base: str, question: str, meter: Meter) -> None:
    """One question in a fresh browser session: the POST and the answer page it redirects to."""
    with requests.Session() as browser, meter():
        response = browser.post(f"{base}/ask", data={"question": question}, headers={"Origin": base}, timeout=300)
    if response.status_code != 200 or 'class="turn"' not in response.text:
        sys.exit(f"/ask answered {response.status_code}: {response.text[:500]}")


def ask_in_process(ws: Path, questions: list[str]) -> Meter:
    """Each question asked of the library itself (`ask_turn`), warm: the app's work without HTTP."""
    settings = Settings.load(workspace=ws, backend="extractive")
    index = Index.open(settings)
    ask_turn(WARM_UP, index, settings)
    meter = Meter()
    for question in questions:
        with meter():
            ask_turn(question, index, settings)
    return meter


def ask_cold(ws: Path, questions: list[str]) -> Meter:
    """Each question asked with a new `digest ask` process."""
    meter = Meter(children=True)
    for question in questions:
        with meter():
            result = digest(ws, "ask", question, "--backend", "extractive")
        if result.returncode != 0:
            sys.exit(f"digest ask failed: {result.stderr[-2000:]}")
    return meter


def evidence(ws: Path, n: int) -> list[tuple[str, int, int, str]]:
    """`n` pieces of survey evidence, spread over the papers: (paper, note number, page, quote)."""
    with Catalog(Settings.load(workspace=ws).catalog_path) as db:
        entries, _ = load_entries(db)
    notes = [(e.paper_id, note.n, note.page, note.quote) for e in entries
             for note in build_sheet(e, "en").notes if note.page]
    return random.Random(0).sample(notes, min(n, len(notes)))


def get(url: str, meter: Meter) -> requests.Response:
    with meter():
        response = requests.get(url, timeout=60)
    response.raise_for_status()
    return response


def found_how(html: str) -> str:
    return html.split('data-how="', 1)[1].split('"', 1)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, default=ROOT / "out" / "bench-serve")
    parser.add_argument("--questions", type=int, default=20, help="questions asked through the app")
    parser.add_argument("--cold", type=int, default=3, help="of them, asked again with a new `digest ask` each")
    parser.add_argument("--pages", type=int, default=60, help="pieces of evidence whose pages are rendered")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args()

    ws = args.workspace.resolve()
    workspace(ws)
    questions = [q["question"] for q in load_questions(QA_DEV) + load_questions(QA_EXTRA)][: args.questions]
    started = time.perf_counter()
    server, base = start_server(ws)
    try:
        startup = time.perf_counter() - started
        process = psutil.Process(server.pid)
        first = Meter(process)
        ask_over_http(base, WARM_UP, first)
        warm = Meter(process)
        for question in questions:
            ask_over_http(base, question, warm)
        notes = evidence(ws, args.pages)
        highlighted, plain, pages, how = Meter(process), Meter(process), Meter(process), []
        for paper_id, n, page, text in notes:
            png = f"{base}/paper/{paper_id}/page/{page}.png"
            get(f"{png}?q={quote(text)}", highlighted)
            get(png, plain)
            how.append(found_how(get(f"{base}/paper/{paper_id}/evidence/{n}", pages).text))
    finally:
        server.terminate()
        server.wait(30)
    library = ask_in_process(ws, questions)
    cold = ask_cold(ws, questions[: args.cold])

    (warm_s, warm_cpu), (lib_s, lib_cpu), (cold_s, cold_cpu) = warm.p50(), library.p50(), cold.p50()
    (hl_s, hl_cpu), (plain_s, plain_cpu), (page_s, _) = highlighted.p50(), plain.p50(), pages.p50()
    figures = {
        "questions": len(questions), "server_start_s": round(startup, 2), "first_answer_s": round(first.walls[0], 2),
        "warm_answer_p50_s": round(warm_s, 3), "warm_answer_p50_cpu_s": round(warm_cpu, 3),
        "library_answer_p50_s": round(lib_s, 3), "library_answer_p50_cpu_s": round(lib_cpu, 3),
        "cold_cli_answer_p50_s": round(cold_s, 2), "cold_cli_answer_p50_cpu_s": round(cold_cpu, 2),
        "cold_questions": len(cold.walls),
        "cold_over_warm": round(cold_s / warm_s, 1), "cold_over_warm_cpu": round(cold_cpu / warm_cpu, 1),
        "pages": len(notes),
        "render_highlight_p50_ms": round(hl_s * 1000, 1), "render_highlight_p50_cpu_ms": round(hl_cpu * 1000, 1),
        "render_plain_p50_ms": round(plain_s * 1000, 1), "render_plain_p50_cpu_ms": round(plain_cpu * 1000, 1),
        "highlight_over_plain": round(hl_s / plain_s, 2),
        "evidence_page_p50_ms": round(page_s * 1000, 1),
        "quotes_found": {kind: how.count(kind) for kind in ("exact", "words", "none")},
        "load_average": round(os.getloadavg()[0], 1),
    }
    print(f"answers  through the app, warm: p50 {warm_s:.2f} s wall, {warm_cpu:.2f} s CPU ({len(questions)} questions; "
          f"target <= {TARGETS['answer_p50_s']:.0f} s) · first answer {first.walls[0]:.1f} s, server up in {startup:.1f} s")
    print(f"         `ask_turn` in process, warm: {lib_s:.2f} s wall, {lib_cpu:.2f} s CPU · cold `digest ask`: "
          f"{cold_s:.1f} s wall, {cold_cpu:.1f} s CPU ({len(cold.walls)}) · cold/warm {figures['cold_over_warm']}x wall, "
          f"{figures['cold_over_warm_cpu']}x CPU")
    print(f"pages    PNG with highlight p50 {hl_s * 1000:.0f} ms wall, {hl_cpu * 1000:.0f} ms CPU (target <= "
          f"{TARGETS['render_p50_ms']:.0f} ms) · without {plain_s * 1000:.0f} ms ({plain_cpu * 1000:.0f} ms CPU) · "
          f"ratio {figures['highlight_over_plain']}x · evidence page (HTML) {page_s * 1000:.0f} ms · {len(notes)} pieces")
    print(f"quotes   found on their page: {figures['quotes_found']} · load average {figures['load_average']}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
