"""Cold queries: one `digest search` and one extractive `digest ask`, each in a fresh process as a user runs them,
against `python -c "import numpy, faiss"` timed in the same run; and whether the ONNX query encoder finds what the
torch model finds.

    python bench/cold.py [--cache bench/.cache] [--scratch DIR] [--repeat 5] [--torch 3] [--no-export] [--no-agreement]

- cold: wall seconds, median of --repeat runs, the three commands interleaved so that they share the machine's
  load; the OS file cache is warm after the first run (a user's second query), and so is Python's byte-code
  cache (PYTHONDONTWRITEBYTECODE, set on the development machine, is unset for the commands). Targets (issue 14): search
  <= 1.5 s and <= 3x the import, extractive ask <= 2 s. --torch N times the same commands N times on the torch
  query path (the index without its export: the "before").
- export: a fresh export of the embedder (wall and CPU seconds, size), against embedding the whole corpus at the
  rate measured on 256 of its passages: what the export adds to a first `digest index`.
- agreement: every gold split's questions (dev, more, ours and bench/qa_ask.jsonl over the 53 LLM papers;
  litqa2 over its biology papers) searched (hybrid, k=5) and answered (extractive) with the ONNX and the torch
  query encoder: how many top-5 lists and answers are identical, and the least query-vector cosine.

The cached workspaces (`<cache>/llm`, `<cache>/bio`, built by bench/eval.py) are never changed: they are copied to
--scratch and `digest index` there adds the export; the seconds it takes are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, SHARED, load_questions  # noqa: E402

DIGEST = Path(sys.executable).with_name("digest")  # the console script of this environment
# Commands run as on a user's machine, where Python caches modules' byte code (an installed wheel ships it):
# this development machine sets PYTHONDONTWRITEBYTECODE, which would compile digest's modules on every run.
AS_INSTALLED = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
QUESTION = "How many experts are activated per token in Mixtral?"
EVAL = SHARED / "eval"


def splits() -> dict[str, tuple[str, list[str]]]:
    """Split name -> (workspace name, questions)."""
    bench = ROOT / "bench"
    ours = [*bench.glob("qa_extra.jsonl"), *bench.glob("qa_holdout.jsonl"), *bench.glob("qa_ask.jsonl")]
    return {
        "dev": ("llm", [q["question"] for q in load_questions(EVAL / "qa_dev.jsonl")]),
        "more": ("llm", [q["question"] for q in load_questions(EVAL / "more" / "qa_more.jsonl")]),
        "ours": ("llm", [q["question"] for path in ours for q in load_questions(path)]),
        "litqa2": ("bio", [q["question"] for q in load_questions(EVAL / "litqa2_dev" / "questions.jsonl")]),
    }


def prepared(cache: Path, name: str, scratch: Path) -> tuple[Path, dict]:
    """A copy of the cached workspace `name` whose index has an ONNX export, and the export's build report."""
    ws = scratch / name
    if not ws.exists():
        if not (cache / name / "index" / "CURRENT").is_file():
            sys.exit(f"no index in {cache / name}: run bench/eval.py first, which builds it")
        shutil.copytree(cache / name, ws, symlinks=True)
    run = subprocess.run([str(DIGEST), "-w", str(ws), "-q", "index", "--json"], capture_output=True, text=True)
    if run.returncode:
        sys.exit(f"digest index failed in {ws}: {run.stderr.strip()[-500:]}")
    return ws, json.loads(run.stdout)


def without_export(ws: Path, scratch: Path) -> Path:
    """A workspace sharing `ws`'s corpus whose index version does not record its export: queries load torch."""
    old = scratch / f"{ws.name}-torch"
    shutil.rmtree(old, ignore_errors=True)
    old.mkdir()
    (old / "corpus").symlink_to(ws / "corpus")
    shutil.copytree(ws / "index", old / "index", ignore=shutil.ignore_patterns("encoders", ".parts"))
    version = old / "index" / (old / "index" / "CURRENT").read_text().strip()
    meta = json.loads((version / "meta.json").read_text())
    meta.pop("encoder", None)
    (version / "meta.json").write_text(json.dumps(meta))
    return old


def timed_run(command: list[str]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system, all threads) of a command run to its end."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    run = subprocess.run(command, capture_output=True, text=True, env=AS_INSTALLED)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if run.returncode:
        sys.exit(f"{' '.join(command)} failed: {run.stderr.strip()[-500:]}")
    return seconds, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def cold(ws: Path, repeat: int) -> dict[str, tuple[float, float]]:
    """Median wall and CPU seconds of the three commands, run interleaved `repeat` times."""
    commands = {
        "import numpy, faiss": [sys.executable, "-c", "import numpy, faiss"],
        "digest search": [str(DIGEST), "-w", str(ws), "search", QUESTION],
        "digest ask": [str(DIGEST), "-w", str(ws), "ask", "--backend", "extractive", QUESTION],
    }
    for command in commands.values():
        timed_run(command)  # warm the OS file cache
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for _ in range(repeat):
        for name, command in commands.items():
            times[name].append(timed_run(command))
    return {name: (statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs))
            for name, runs in times.items()}


def export_cost(ws: Path, scratch: Path) -> dict[str, float]:
    """Seconds (wall, CPU) of a fresh export of the workspace's embedder, and of embedding its corpus on this
    machine, estimated from 256 of its passages: what the export adds to a first `digest index`."""
    import numpy as np

    from digest.chunk import Tokenizer, passage_texts
    from digest.embed import load_embedder
    from digest.embed_onnx import export_encoder
    from digest.index import Index
    from digest.settings import Settings

    settings = Settings.load(workspace=ws)
    embedder = load_embedder(settings.embedder, settings.device)
    index = Index.open(settings)
    texts = passage_texts(index.chunks, Tokenizer(embedder.tokenizer, embedder.max_tokens))
    sample = [texts[i] for i in np.random.default_rng(0).permutation(len(texts))[:256]]
    folder = scratch / "export"
    shutil.rmtree(folder, ignore_errors=True)
    cpu, started = time.process_time(), time.perf_counter()
    record = export_encoder(embedder, folder)
    export = (time.perf_counter() - started, time.process_time() - cpu)
    assert "reason" not in record, record
    cpu, started = time.process_time(), time.perf_counter()
    embedder.embed(sample)
    scale = len(set(texts)) / len(sample)
    embed = ((time.perf_counter() - started) * scale, (time.process_time() - cpu) * scale)
    size = sum(p.stat().st_size for p in (folder / record["path"]).iterdir()) / 2**20
    return {"export_wall": export[0], "export_cpu": export[1], "embed_wall": embed[0], "embed_cpu": embed[1],
            "passages": len(set(texts)), "mib": size}


def agreement(workspaces: dict[str, Path]) -> Iterator[tuple[str, dict]]:
    """Per split as it is done: questions, identical top-5 lists and extractive answers, ONNX against torch;
    the least cosine of the query vectors."""
    import numpy as np

    from digest.ask import ask
    from digest.embed import load_embedder
    from digest.embed_onnx import OnnxEmbedder
    from digest.index import Index
    from digest.settings import Settings

    for split, (name, questions) in splits().items():
        settings = Settings.load(workspace=workspaces[name], backend="extractive")
        index = Index.open(settings)
        onnx, torch = index.embedder, load_embedder(settings.embedder, "cpu")
        assert isinstance(onnx, OnnxEmbedder), f"{workspaces[name]} has no ONNX export"
        results = {}
        for label, embedder in (("onnx", onnx), ("torch", torch)):
            index.__dict__["embedder"] = embedder
            results[label] = [([h.chunk.chunk_id for h in index.search(q, k=5)], ask(q, index, settings).answer)
                              for q in questions]
        cosines = [float(np.dot(onnx.embed_query(q), torch.embed_query(q))) for q in questions]
        differ = [q for q, a, b in zip(questions, results["onnx"], results["torch"]) if a[0] != b[0]]
        yield split, {
            "questions": len(questions),
            "top5_identical": sum(a[0] == b[0] for a, b in zip(results["onnx"], results["torch"])),
            "answers_identical": sum(a[1] == b[1] for a, b in zip(results["onnx"], results["torch"])),
            "min_cosine": round(min(cosines), 6),
            "top5_differ": differ,
        }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", type=Path, default=ROOT / "bench" / ".cache")
    ap.add_argument("--scratch", type=Path, help="where the workspaces are copied (default: a temporary folder)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--torch", type=int, default=3, help="runs on the torch query path (0: none)")
    ap.add_argument("--no-export", action="store_true", help="skip timing a fresh export")
    ap.add_argument("--no-agreement", action="store_true")
    args = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # each figure as it is measured, into a file too
    scratch = args.scratch or Path(tempfile.mkdtemp(prefix="digest-cold-"))
    scratch.mkdir(parents=True, exist_ok=True)

    ws, report = prepared(args.cache, "llm", scratch)
    print(f"workspace {ws}: {report['papers']} papers, {report['chunks']} chunks; "
          f"digest index (export only) {report['seconds'].get('export', 0):.1f} s of {report['seconds']['total']:.1f} s; "
          f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    figures = cold(ws, args.repeat)
    base, base_cpu = figures["import numpy, faiss"]
    print(f"\ncold, median of {args.repeat}       wall s  x import   CPU s  x import")
    for name, (seconds, cpu) in figures.items():
        print(f"  {name:24s} {seconds:6.2f}  {seconds / base:6.2f}  {cpu:7.2f}  {cpu / base_cpu:6.2f}")
    search, answer = figures["digest search"][0], figures["digest ask"][0]
    print(f"  targets (wall): search <= 1.5 s and <= 3x import: {'met' if search <= 1.5 and search <= 3 * base else 'MISSED'}; "
          f"ask <= 2 s: {'met' if answer <= 2 else 'MISSED'}; load average now {os.getloadavg()[0]:.2f}")
    if args.torch:
        before = cold(without_export(ws, scratch), args.torch)
        print(f"torch query path, median of {args.torch}: search {before['digest search'][0]:.2f} s "
              f"({before['digest search'][0] / search:.1f}x ONNX), ask {before['digest ask'][0]:.2f} s "
              f"({before['digest ask'][0] / answer:.1f}x ONNX), import {before['import numpy, faiss'][0]:.2f} s (wall)")
    if not args.no_export:
        cost = export_cost(ws, scratch)
        print(f"\nexport (torch.onnx dynamo + probe check): {cost['export_wall']:.1f} s wall, {cost['export_cpu']:.1f} s CPU, "
              f"{cost['mib']:.0f} MiB; embedding this corpus's {cost['passages']} passages takes ~{cost['embed_wall']:.0f} s "
              f"wall, {cost['embed_cpu']:.0f} s CPU here (from 256): the export adds "
              f"{100 * cost['export_wall'] / cost['embed_wall']:.1f}% to a first build (wall)")
    if not args.no_agreement:
        workspaces = {"llm": ws, "bio": prepared(args.cache, "bio", scratch)[0]}
        print("\nagreement, ONNX vs torch query encoder (hybrid search k=5, extractive ask)")
        for split, row in agreement(workspaces):
            print(f"  {split:7s} {row['questions']:3d} questions: top-5 identical {row['top5_identical']}, "
                  f"answers identical {row['answers_identical']}, least cosine {row['min_cosine']:.6f}")
            for question in row["top5_differ"]:
                print(f"          top-5 differ: {question}")


if __name__ == "__main__":
    main()
