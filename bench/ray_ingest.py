"""Ray ingest benchmark: `build_index` on the ray engine (a local Ray instance, or a cluster) against the local
engine, on the shared corpus, same run.

    python bench/ray_ingest.py [--cpus 2] [--address ADDR] [--papers N] [--work DIR] [--json OUT]

Both builds start from the same fresh workspace (all shared PDFs added, nothing parsed) copied twice under --work,
and do the whole build: parse, chunk, embed, write the index. Ray's start (or connection) is timed apart from
its build. The ratios are local wall seconds over Ray wall seconds, for the whole build and for the stages the
engine runs (parse, chunk, embed); CPU seconds of this process mean nothing when the work runs in Ray's workers.
The two indexes must hold the same chunks, and vectors equal to 1e-5.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import SHARED, timed  # noqa: E402
from digest.catalog import Catalog  # noqa: E402
from digest.corpus import add_papers  # noqa: E402
from digest.index import Index, build_index  # noqa: E402
from digest.settings import Settings  # noqa: E402

CORPORA = (SHARED / "corpus" / "pdf", SHARED / "corpus" / "more" / "pdf")


def fresh_workspace(work: Path, papers: int | None) -> Path:
    """A workspace holding the shared PDFs (the first `papers` of them), none parsed yet."""
    ws = work / "added"
    shutil.rmtree(ws, ignore_errors=True)
    ws.mkdir(parents=True)
    pdfs = sorted(p for folder in CORPORA for p in folder.glob("*.pdf"))[:papers]
    settings = Settings.load(workspace=ws)
    with Catalog(settings.catalog_path) as catalog:
        failed = [o for o in add_papers(settings, catalog, pdfs) if o.failed]
    if failed:
        raise SystemExit(f"cannot add {failed[0].paper_id}: {failed[0].error}")
    return ws


def build(template: Path, ws: Path, **flags) -> tuple[dict, float]:
    """A full build on a copy of `template`: its report and wall seconds."""
    shutil.rmtree(ws, ignore_errors=True)
    shutil.copytree(template, ws)
    settings = Settings.load(workspace=ws, **flags)
    with Catalog(settings.catalog_path) as catalog, timed() as t:
        report = build_index(settings, catalog)
    if report.failed:
        raise SystemExit(f"{ws}: {report.failed[0].paper_id} failed: {report.failed[0].error}")
    return report.model_dump(), t.wall


def engine_s(report: dict) -> float:
    """Seconds of the stages an engine runs: parse, chunk and embed (Ray chunks while it embeds)."""
    return sum(report["seconds"].get(stage, 0) for stage in ("parse", "chunk", "embed"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cpus", type=int, default=2, help="CPUs of the local Ray instance (ignored with --address)")
    ap.add_argument("--address", help="an existing Ray cluster (its nodes must see --work at the same path)")
    ap.add_argument("--papers", type=int, help="only the first N PDFs (a quick check)")
    ap.add_argument("--work", type=Path, help="where the workspaces go (default: a temporary folder)")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()

    import ray

    work = args.work or Path(tempfile.mkdtemp(prefix="digest-ray-"))
    template = fresh_workspace(work, args.papers)
    local, local_s = build(template, work / "local")
    print(f"local: {local['papers']} papers, {local['chunks']} chunks, {local_s:.1f} s {local['seconds']}", flush=True)

    with timed() as start:
        if args.address:
            ray.init(address=args.address, include_dashboard=False, log_to_driver=False)
        else:
            ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False)
    resources = {k: v for k, v in ray.cluster_resources().items() if k in ("CPU", "GPU")}
    on_ray, ray_s = build(template, work / "ray", engine="ray")
    ray.shutdown()
    print(f"ray {resources}: started in {start.wall:.1f} s, built in {ray_s:.1f} s {on_ray['seconds']}", flush=True)

    a, b = Index.open(Settings.load(workspace=work / "local")), Index.open(Settings.load(workspace=work / "ray"))
    same_chunks = [c.model_dump() for c in a.chunks] == [c.model_dump() for c in b.chunks]
    diff = float(np.abs(a.vectors - b.vectors).max()) if a.vectors.shape == b.vectors.shape else float("inf")
    figures = {
        "papers": local["papers"], "chunks": local["chunks"], "texts_embedded": local["embedded"],
        "ray_resources": resources, "local_s": round(local_s, 1), "ray_start_s": round(start.wall, 1),
        "ray_build_s": round(ray_s, 1), "local_seconds": local["seconds"], "ray_seconds": on_ray["seconds"],
        "speedup_build": round(local_s / ray_s, 2), "speedup_with_start": round(local_s / (ray_s + start.wall), 2),
        "speedup_parse_embed": round(engine_s(local) / engine_s(on_ray), 2),
        "same_chunks": same_chunks, "max_vector_diff": diff,
    }
    print(json.dumps(figures, indent=1))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))
    if not same_chunks or diff > 1e-5:
        raise SystemExit("the ray build differs from the local one")


if __name__ == "__main__":
    main()
