"""The ray ingest engine (`digest index --ray`) against the local one, on real papers: a local Ray instance with
two CPUs parses and embeds them, and the index it writes must hold the same chunks and vectors."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
import ray
from click.testing import CliRunner

from digest.catalog import Catalog
from digest.cli import cli
from digest.corpus import add_papers
from digest.index import Index, build_index
from digest.settings import Settings

PAPERS = ("pdf/2310.06825.pdf", "more/pdf/2304.02623.pdf", "more/odd/0908.0054.pdf", "more/odd/2103.15348_4pages.pdf")


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _workspace(path, shared) -> Settings:
    path.mkdir()
    settings = Settings.load(workspace=path)
    with Catalog(settings.catalog_path) as catalog:
        add_papers(settings, catalog, [shared / "corpus" / p for p in PAPERS])
    return settings


@pytest.mark.slow
def test_ray_build_writes_the_index_the_local_build_writes(local_ray, shared, tmp_path):
    local, on_ray = _workspace(tmp_path / "local", shared), _workspace(tmp_path / "ray", shared)
    with Catalog(local.catalog_path) as catalog:
        expected = build_index(local, catalog)
    result = CliRunner().invoke(cli, ["-w", str(on_ray.workspace), "index", "--ray", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert sorted(report["added"]) == sorted(expected.added) and len(expected.added) == len(PAPERS)
    assert not report["failed"] and (report["chunks"], report["embedded"]) == (expected.chunks, expected.embedded)

    a, b = Index.open(local), Index.open(on_ray)
    assert [c.model_dump() for c in b.chunks] == [c.model_dump() for c in a.chunks]
    np.testing.assert_allclose(b.vectors, a.vectors, atol=1e-5)
    assert (b.meta["keys"], b.meta["ranges"], b.meta["names"]) == (a.meta["keys"], a.meta["ranges"], a.meta["names"])
    with Catalog(local.catalog_path) as ca, Catalog(on_ray.catalog_path) as cb:
        assert all(cb.load_parse(pid) == ca.load_parse(pid) for pid in a.papers)
        again = build_index(on_ray.with_flags(engine="ray"), cb)
    assert again.unchanged == len(PAPERS) and again.embedded == 0 and again.version == report["version"]


def test_ray_address_that_is_a_paper_id_is_refused(workspace):
    result = CliRunner().invoke(cli, ["-w", str(workspace), "index", "--ray", "2310.06825"])
    assert result.exit_code == 2 and "--ray 2310.06825: not a Ray address" in result.output


def test_ray_engine_without_ray_says_how_to_install_it(workspace, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails as if it were not installed
    result = CliRunner().invoke(cli, ["-w", str(workspace), "index", "--ray"])
    assert result.exit_code == 2 and "pip install 'digest[ray]'" in result.output
    assert len(result.output.strip().splitlines()) == 1
