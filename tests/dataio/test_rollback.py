"""Rolling back one import run, undoing the rollback, and refusing when later work depends on the run.

Expectations are database snapshots taken before and after, and values read from the raw CSV files.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.dataio.support import db_snapshot, import_with_pipeline, pipeline_row, raw_rows

pytestmark = pytest.mark.usefixtures("maven")


def snapshot() -> dict:
    """db_snapshot without opportunities' optimistic-lock version, which an undo moves forward on purpose."""
    from revcast.pipeline.models import Opportunity

    snap = db_snapshot()
    at = [f.attname for f in Opportunity._meta.concrete_fields].index("version")
    snap["opportunity"] = {pk: row[:at] + row[at + 1 :] for pk, row in snap["opportunity"].items()}
    return snap


def _second_run(folder, mapping):
    """A re-import that changes two open deals' amounts and adds two deals (one on a new account name)."""
    open_ids = [r["opportunity_id"] for r in raw_rows("sales_pipeline.csv") if r["deal_stage"] == "Engaging"][:2]

    def change(rows):
        for row in rows:
            if row["opportunity_id"] in open_ids:
                row["close_value"] = "12345"

    extra = [
        pipeline_row(opportunity_id="ROLLBK01", sales_agent="Darcel Schlecht", product="GTX Basic",
                     account="Acme Corporation", deal_stage="Engaging", engage_date="2017-12-01"),
        pipeline_row(opportunity_id="ROLLBK02", sales_agent="Darcel Schlecht", product="MG Special",
                     deal_stage="Prospecting"),
    ]
    before = snapshot()
    _, run = import_with_pipeline(folder, mapping, change, extra)
    assert run.status == "succeeded"
    assert run.counts["opportunities"]["created"] == 2 and run.counts["opportunities"]["updated"] == 2
    return before, run, open_ids


def test_rollback_restores_exactly_and_undo_brings_the_run_back(maven_copy, mapping_obj):
    from revcast.dataio.history import rollback_run, undo
    from revcast.dataio.models import ChangeSet
    from revcast.pipeline.models import Opportunity, OpportunityFieldHistory

    before, run, open_ids = _second_run(maven_copy, mapping_obj)
    after = snapshot()
    assert set(Opportunity.objects.filter(external_id__in=open_ids).values_list("amount", flat=True)) == {
        Decimal("12345")
    }
    assert OpportunityFieldHistory.objects.filter(source=f"import:{run.pk}").count() > 0

    rollback = rollback_run(run)
    assert rollback.kind == ChangeSet.Kind.ROLLBACK
    assert snapshot() == before  # every row, every column, history count included
    assert not Opportunity.objects.filter(external_id__in=["ROLLBK01", "ROLLBK02"]).exists()
    assert OpportunityFieldHistory.objects.filter(source=f"import:{run.pk}").count() == 0
    assert rollback.counts["pipeline.opportunity"] == {"created": 0, "updated": 2, "deleted": 2}

    redo = undo(rollback)
    assert redo.undo_of_id == rollback.pk
    assert snapshot() == after


def test_rollback_is_refused_when_later_work_depends_on_it_and_forced_rollback_is_undoable(
    maven_copy, mapping_obj
):
    from revcast.activities.models import Activity
    from revcast.dataio.history import UndoConflict, rollback_run, undo
    from revcast.org.models import User
    from revcast.pipeline.models import Opportunity

    _before, run, _ = _second_run(maven_copy, mapping_obj)
    deal = Opportunity.objects.get(external_id="ROLLBK02")
    darcel = User.objects.get(username="darcel.schlecht")
    call = Activity.objects.create(type="call", subject="follow-up", owner=darcel, opportunity=deal,
                                   occurred_at="2017-12-02T10:00:00Z")
    with pytest.raises(UndoConflict, match="activities not made by this change would be"):
        rollback_run(run)
    assert Opportunity.objects.filter(external_id="ROLLBK02").exists()  # nothing half-done

    forced = rollback_run(run, force=True)
    assert not Opportunity.objects.filter(external_id="ROLLBK02").exists()
    assert forced.counts["activities.activity"]["deleted"] + forced.counts["activities.activity"]["updated"] == 1
    undo(forced)
    call.refresh_from_db()
    assert call.opportunity_id == deal.pk


def test_a_value_changed_after_the_run_blocks_its_rollback(maven_copy, mapping_obj):
    from revcast.dataio.history import UndoConflict, rollback_run
    from revcast.org.models import User
    from revcast.pipeline.models import Opportunity
    from revcast.pipeline.services import update_opportunity

    _before, run, open_ids = _second_run(maven_copy, mapping_obj)
    deal = Opportunity.objects.get(external_id=open_ids[0])
    update_opportunity(deal, changed_by=User.objects.get(username="darcel.schlecht"), source="ui",
                       amount=Decimal("999"))
    with pytest.raises(UndoConflict, match=f"opportunity {deal.pk}: amount changed since"):
        rollback_run(run)
    deal.refresh_from_db()
    assert deal.amount == Decimal("999")


def test_cli_history_rollback_and_undo(maven_copy, mapping_obj, capsys):
    import json

    from revcast.dataio.models import ChangeSet

    before, run, _ = _second_run(maven_copy, mapping_obj)
    call_command("history", "--format", "json")
    listed = json.loads(capsys.readouterr().out)
    row = next(r for r in listed["runs"] if r["id"] == run.pk)
    assert row["changeset"] is not None and row["rolled_back_by"] is None

    call_command("rollback", str(run.pk))
    out = capsys.readouterr().out
    rollback = ChangeSet.objects.get(kind="rollback", run=run)
    assert f"rolled back as change set #{rollback.pk}" in out
    assert snapshot() == before
    with pytest.raises(CommandError, match="already undone"):
        call_command("rollback", str(run.pk))

    call_command("history", "--format", "json")
    listed = json.loads(capsys.readouterr().out)
    assert next(r for r in listed["runs"] if r["id"] == run.pk)["rolled_back_by"] == rollback.pk
    call_command("undo", str(rollback.pk), "--format", "json")
    assert json.loads(capsys.readouterr().out)["undo_of"] == rollback.pk


def test_a_dry_run_has_nothing_to_roll_back(maven_dir, mapping_obj):
    from revcast.dataio.history import RollbackError, rollback_run
    from revcast.dataio.models import ChangeSet
    from revcast.dataio.runner import run_import

    run = run_import(maven_dir, mapping_obj, dry_run=True)
    assert not ChangeSet.objects.filter(run=run).exists()
    with pytest.raises(RollbackError, match="dry run"):
        rollback_run(run)


def test_a_manager_with_a_row_of_their_own_keeps_their_team_and_a_rerun_is_unchanged(maven_copy, mapping_obj):
    from revcast.dataio.history import rollback_run
    from revcast.dataio.runner import run_import
    from revcast.org.models import User
    from tests.dataio.support import raw_header, raw_rows, write_csv

    rows = raw_rows("sales_teams.csv")
    manager = rows[0]["manager"]
    region = rows[0]["regional_office"]
    write_csv(maven_copy / "sales_teams.csv", raw_header("sales_teams.csv"),
              [*rows, {"sales_agent": manager, "manager": "", "regional_office": region}])
    first = run_import(maven_copy, mapping_obj)
    assert first.status == "succeeded"
    user = User.objects.get(first_name=manager.split()[0], last_name=manager.split()[-1])
    assert user.team is not None and user.team.name == f"{manager} team"
    before = snapshot()
    second = run_import(maven_copy, mapping_obj)
    assert second.counts["sales_teams"]["updated"] == 0
    rollback_run(second)  # nothing to undo, and nothing refused
    assert snapshot() == before
