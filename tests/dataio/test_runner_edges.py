"""Edge cases of an import run: nothing silently succeeds, nothing is left half-recorded."""

from __future__ import annotations

import shutil

from revcast.customers.models import Account
from revcast.dataio import mapping as mapping_module
from revcast.dataio.models import ImportRun
from revcast.dataio.runner import run_import
from revcast.pipeline.models import Product
from tests.conftest import MAVEN_DIR, MAVEN_MAPPING


def test_a_single_file_that_matches_no_source_fails(maven, tmp_path):
    stray = tmp_path / "something_else.csv"
    stray.write_text("a,b\n1,2\n", encoding="utf-8")
    run = run_import(stray, mapping_module.load(MAVEN_MAPPING))
    assert run.status == ImportRun.Status.FAILED
    assert "matches no source of the mapping" in run.issues.get().reason


def test_empty_text_cells_load_as_blank_not_null(maven, tmp_path):
    src = tmp_path / "products.csv"
    src.write_text("product,series,sales_price\nNew Gadget,,10\n", encoding="utf-8")
    run = run_import(src, mapping_module.load(MAVEN_MAPPING))
    assert run.status == ImportRun.Status.SUCCEEDED, list(run.issues.values_list("reason", flat=True))
    assert Product.objects.get(name="New Gadget").series == ""


def test_every_row_rejected_is_a_failed_run(maven, tmp_path):
    src = tmp_path / "products.csv"
    src.write_text("product,series,sales_price\nA,X,cheap\nB,Y,free\n", encoding="utf-8")
    run = run_import(src, mapping_module.load(MAVEN_MAPPING))
    assert run.status == ImportRun.Status.FAILED
    assert run.issues.count() == 2


def test_an_unexpected_error_is_recorded_and_nothing_is_written(maven, tmp_path, monkeypatch):
    folder = tmp_path / "maven"
    shutil.copytree(MAVEN_DIR, folder)
    before = Account.objects.count()

    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("revcast.dataio.runner.WRITERS", {**__import__("revcast.dataio.targets").dataio.targets.WRITERS, "account": boom})
    (folder / "accounts.csv").write_text(
        (folder / "accounts.csv").read_text(encoding="utf-8") + "Zeta Corp,retail,2001,1.5,10,Kenya,\n",
        encoding="utf-8",
    )
    run = run_import(folder, mapping_module.load(MAVEN_MAPPING))
    assert run.status == ImportRun.Status.FAILED
    reasons = list(run.issues.values_list("reason", flat=True))
    assert any("refused by the database" in r or "unexpected error" in r for r in reasons), reasons
    assert Account.objects.count() == before
