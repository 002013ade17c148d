"""A bounded loop of bad inputs and kills against real `digest` processes (loopback arXiv only): cases tried,
survived, and data lost (must be 0).

    python bench/faults.py [--rounds 10] [--seed 15] [--json OUT]

One workspace lives through every round. Before each case the PDFs the catalog holds as `ok` are hashed; after
it, every one must still be there, byte for byte, with its catalog row (`lost` counts those that are not), and
the live index, if any, must load. A case survives when every command it ran ended with exit code 0, 1 or 2,
with no traceback, within its time bound, and the workspace passes `digest doctor` afterwards (after
`doctor --repair` where the case damaged the catalog on purpose).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import pymupdf

from common import ROOT, SHARED

sys.path.insert(0, str(ROOT))
from digest.catalog import Catalog  # noqa: E402
from digest.files import sha256_file  # noqa: E402
from digest.testing.arxiv_server import ArxivServer  # noqa: E402

DIGEST = [sys.executable, "-c", "from digest.cli import main; main()"]
PAPERS = ("2310.06825", "1409.0473", "1706.03762")  # served by the loopback arXiv; small enough to embed often
BOUND = 300  # seconds any one command may take


class Case:
    """One round: commands run against the workspace, and whether each behaved."""

    def __init__(self, ws: Path, env: dict):
        self.ws, self.env, self.problems = ws, env, []
        self.before = intact(ws)  # what must still be there afterwards

    def remove(self, paper_id: str) -> None:
        """Remove a paper on purpose (to fetch it again under faults): it no longer counts as lost."""
        self.digest("remove", paper_id, expect=(0,))
        self.before.pop(paper_id, None)

    def digest(self, *args: str, expect: tuple[int, ...] = (0, 1, 2), env: dict | None = None) -> subprocess.CompletedProcess:
        try:
            done = subprocess.run([*DIGEST, "-w", str(self.ws), "-q", *args], env={**self.env, **(env or {})},
                                  capture_output=True, text=True, timeout=BOUND)
        except subprocess.TimeoutExpired:
            self.problems.append(f"`digest {' '.join(args)[:60]}` ran past {BOUND} s")
            return subprocess.CompletedProcess(args, -1, "", "")
        if done.returncode not in expect or "Traceback" in done.stderr:
            self.problems.append(f"`digest {' '.join(args)[:60]}` exit {done.returncode}: {done.stderr.strip()[-300:]}")
        return done

    def killed(self, *args: str, after: float) -> None:
        """Start a command and SIGKILL it `after` seconds in (or let it finish first)."""
        proc = subprocess.Popen([*DIGEST, "-w", str(self.ws), "-q", *args], env=self.env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            proc.wait(timeout=after)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
        _, err = proc.communicate()
        if "Traceback" in err:
            self.problems.append(f"`digest {' '.join(args)}` crashed before it was killed: {err.strip()[-300:]}")


# ------------------------------------------------------------------------------------------------ files


def _shared(paper_id: str) -> Path:
    return SHARED / "corpus" / "pdf" / f"{paper_id}.pdf"


def encrypted(folder: Path) -> Path:
    with pymupdf.open(_shared(PAPERS[0])) as doc:
        doc.save(folder / "locked.pdf", encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="pw", owner_pw="owner")
    return folder / "locked.pdf"


def truncated(folder: Path) -> Path:
    data = _shared(PAPERS[1]).read_bytes()
    (folder / "truncated.pdf").write_bytes(data[: len(data) // 3])
    return folder / "truncated.pdf"


def html_pdf(folder: Path) -> Path:
    (folder / "page.pdf").write_text("<!DOCTYPE html><html><body>Just a moment...</body></html>\n")
    return folder / "page.pdf"


def empty(folder: Path) -> Path:
    (folder / "empty.pdf").write_bytes(b"")
    return folder / "empty.pdf"


def scanned(folder: Path) -> Path:
    with pymupdf.open(_shared(PAPERS[1])) as doc, pymupdf.open() as scan:
        page = doc[0]
        scan.new_page(width=page.rect.width, height=page.rect.height).insert_image(page.rect, pixmap=page.get_pixmap(dpi=100))
        scan.save(folder / "scan.pdf")
    return folder / "scan.pdf"


def misnamed(folder: Path) -> Path:
    shutil.copy(_shared(PAPERS[0]), folder / "2401.04088.pdf")  # Mixtral's id on Mistral's PDF
    return folder / "2401.04088.pdf"


BAD_FILES = (encrypted, truncated, html_pdf, empty, scanned, misnamed)
BAD_IDS = ("x" * 2000, "../../etc/passwd", "2302.13971; rm -rf ~", "$(reboot)", "2399.99999", "arXiv:", "１２３")


# ------------------------------------------------------------------------------------------------ cases


def bad_files(case: Case, rng: random.Random, server: ArxivServer) -> None:
    folder = Path(tempfile.mkdtemp(dir=case.ws.parent))
    for make in rng.sample(BAD_FILES, 3):
        make(folder)
    shutil.copy(_shared(rng.choice(PAPERS)), folder / "good.pdf")
    case.digest("add", str(folder), env={"TESSDATA_PREFIX": str(folder / "no-ocr")})
    shutil.rmtree(folder)


def bad_ids(case: Case, rng: random.Random, server: ArxivServer) -> None:
    case.digest("fetch", *rng.sample(BAD_IDS, 3), rng.choice(PAPERS))
    case.digest("show", rng.choice(BAD_IDS))
    case.digest("remove", rng.choice(BAD_IDS))


def flaky_arxiv(case: Case, rng: random.Random, server: ArxivServer) -> None:
    kind = rng.choice(["hang", "status", "reset", "truncate", "html", "slow"])
    target = "api" if kind in ("hang", "status", "slow") else "pdf"
    server.fault(kind, target, times=rng.choice([1, 2, None]), seconds=3)
    case.remove(rng.choice(PAPERS))
    case.digest("fetch", *PAPERS)
    server.reset()
    case.digest("fetch", *PAPERS, expect=(0,))


def kill_fetch(case: Case, rng: random.Random, server: ArxivServer) -> None:
    victim = rng.choice(PAPERS)
    case.remove(victim)
    server.fault("stall", "pdf", times=None, seconds=30)
    case.killed("fetch", victim, after=rng.uniform(0.5, 4))
    server.reset()
    case.digest("fetch", *PAPERS, expect=(0,))


def kill_index(case: Case, rng: random.Random, server: ArxivServer) -> None:
    case.killed("index", "--force", after=rng.uniform(5, 40))
    case.digest("index", expect=(0,))


def two_indexes(case: Case, rng: random.Random, server: ArxivServer) -> None:
    first = subprocess.Popen([*DIGEST, "-w", str(case.ws), "-q", "index", "--force"], env=case.env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    case.digest("index", expect=(0,))
    _, err = first.communicate(timeout=BOUND)
    if first.returncode != 0 or "Traceback" in err:
        case.problems.append(f"the first of two indexes failed: {err.strip()[-300:]}")


def damaged_catalog(case: Case, rng: random.Random, server: ArxivServer) -> None:
    path = case.ws / "corpus" / "catalog.sqlite"
    with sqlite3.connect(path) as db:
        size, count = db.execute("PRAGMA page_size").fetchone()[0], db.execute("PRAGMA page_count").fetchone()[0]
    with path.open("r+b") as fh:
        for page in rng.sample(range(2, count), min(3, count - 2)):
            fh.seek(page * size)
            fh.write(os.urandom(size))
    case.digest("list")
    case.digest("doctor", "--repair")
    case.digest("fetch", *PAPERS, expect=(0,))  # rows lost with their bytes come back from arXiv


def damaged_index(case: Case, rng: random.Random, server: ArxivServer) -> None:
    current = case.ws / "index" / (case.ws / "index" / "CURRENT").read_text().strip()
    victim = current / rng.choice(["dense.faiss", "chunks.jsonl", "meta.json"])
    victim.write_bytes(os.urandom(64))
    case.digest("search", "attention")
    case.digest("index", "--force", expect=(0,))


CASES = {f.__name__: f for f in (bad_files, bad_ids, flaky_arxiv, kill_fetch, kill_index, two_indexes,
                                  damaged_catalog, damaged_index)}


# ------------------------------------------------------------------------------------------------ checks


def intact(ws: Path) -> dict[str, str]:
    """Paper id -> sha256 of each `ok` paper whose PDF is the one its row records."""
    path = ws / "corpus" / "catalog.sqlite"
    if not path.exists():
        return {}
    with Catalog(path) as catalog:
        papers = catalog.papers(status="ok")
    return {p.paper_id: p.sha256 for p in papers
            if p.pdf_path and (ws / p.pdf_path).is_file() and sha256_file(ws / p.pdf_path) == p.sha256}


def lost(ws: Path, before: dict[str, str]) -> list[str]:
    try:
        after = intact(ws)
    except Exception as exc:  # noqa: BLE001 - a catalog that cannot be opened loses everything in it
        return [f"{pid} ({type(exc).__name__})" for pid in before]
    return [pid for pid, sha in before.items() if after.get(pid) != sha]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    tried, survived, lost_papers, failures = Counter(), Counter(), Counter(), []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, ArxivServer(SHARED / "corpus") as server:
        ws = Path(tmp) / "ws"
        ws.mkdir()
        (ws / "digest.toml").write_text(
            f'arxiv_api_url = "{server.api_url}"\narxiv_delay = 0\nhttp_timeout = 2\nmax_retries = 2\n'
            "backoff_base = 0.1\nfetch_deadline = 6\nbackend = \"extractive\"\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")} | {"HF_HUB_OFFLINE": "1"}
        setup = Case(ws, env)
        setup.digest("fetch", *PAPERS, expect=(0,))
        setup.digest("index", expect=(0,))
        if setup.problems:
            raise SystemExit(f"set-up failed: {setup.problems}")
        order = list(CASES) + [rng.choice(list(CASES)) for _ in range(max(0, args.rounds - len(CASES)))]
        for n, name in enumerate(order[: args.rounds], start=1):
            case = Case(ws, env)
            clock = time.perf_counter()
            CASES[name](case, rng, server)
            doctor = case.digest("doctor")
            if doctor.returncode != 0:
                case.problems.append(f"doctor afterwards: {doctor.stdout.strip()[-300:]}")
            gone = lost(ws, case.before)
            tried[name] += 1
            survived[name] += not case.problems
            lost_papers[name] += len(gone)
            failures += [f"{name}: {p}" for p in case.problems] + [f"{name}: lost {g}" for g in gone]
            print(f"[{n:2d}/{args.rounds}] {name:<16} {'survived' if not case.problems else 'FAILED'}"
                  f"{'' if not gone else f', lost {len(gone)}'} ({time.perf_counter() - clock:.0f} s)", flush=True)
    total = {"tried": sum(tried.values()), "survived": sum(survived.values()), "data_lost": sum(lost_papers.values()),
             "seconds": round(time.perf_counter() - started)}
    print(f"\n{'case':<16} tried survived lost")
    for name in CASES:
        print(f"{name:<16} {tried[name]:>5} {survived[name]:>8} {lost_papers[name]:>4}")
    print(f"{'all':<16} {total['tried']:>5} {total['survived']:>8} {total['data_lost']:>4}   ({total['seconds']} s)")
    for failure in failures:
        print("  ", failure)
    if args.json:
        args.json.write_text(json.dumps({"cases": {n: {"tried": tried[n], "survived": survived[n],
                                                         "lost": lost_papers[n]} for n in CASES}, **total,
                                         "failures": failures}, indent=1))
    raise SystemExit(1 if total["data_lost"] or failures else 0)


if __name__ == "__main__":
    main()
