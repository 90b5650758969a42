"""Opportunity writes: history written by the service, exit criteria, optimistic concurrency, reached stage."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from revcast.org.models import User
from revcast.pipeline.models import Opportunity, OpportunityFieldHistory, Stage
from revcast.pipeline.services import (
    OpportunityRow,
    StaleVersion,
    next_reached,
    update_opportunity,
    upsert_opportunities,
)


@pytest.fixture
def stages(maven):
    return {s.name: s for s in Stage.objects.all()}


def _open_deal(stage_name: str) -> Opportunity:
    return Opportunity.objects.filter(stage__name=stage_name).order_by("external_id").first()


def test_stage_change_writes_history_and_moves_reached_stage(stages):
    opp = _open_deal("Prospecting")
    rep = opp.owner
    before = OpportunityFieldHistory.objects.filter(opportunity=opp).count()
    opp = update_opportunity(opp, changed_by=rep, source="test", stage=stages["Engaging"])
    assert opp.reached_stage == stages["Engaging"]
    assert opp.probability == stages["Engaging"].probability
    assert opp.version == 2
    rows = OpportunityFieldHistory.objects.filter(opportunity=opp).order_by("id")[before:]
    assert [(r.field, r.old_value, r.new_value, r.changed_by, r.source) for r in rows] == [
        ("stage", "Prospecting", "Engaging", rep, "test")
    ]


def test_exit_criteria_block_leaving_a_stage_without_required_fields(stages):
    opp = _open_deal("Engaging")
    assert opp.expected_close_on is None  # Maven open deals have no expected close date
    with pytest.raises(ValidationError) as err:
        update_opportunity(opp, changed_by=opp.owner, source="test", stage=stages["Won"])
    assert "expected_close_on" in err.value.message_dict
    opp.refresh_from_db()
    assert opp.stage == stages["Engaging"] and opp.version == 1
    won = update_opportunity(
        opp, changed_by=opp.owner, source="test", stage=stages["Won"], expected_close_on=dt.date(2018, 1, 15)
    )
    assert won.forecast_category == "closed"
    assert won.closed_on is not None
    assert won.reached_stage == stages["Won"]
    fields = set(
        OpportunityFieldHistory.objects.filter(opportunity=opp, source="test").values_list("field", flat=True)
    )
    assert fields == {"stage", "expected_close_on", "forecast_category"}


def test_stale_version_is_refused_and_changes_nothing(stages):
    opp = _open_deal("Engaging")
    update_opportunity(opp, changed_by=opp.owner, source="a", expected_version=1, amount=Decimal("999.00"))
    with pytest.raises(StaleVersion):
        update_opportunity(opp, changed_by=opp.owner, source="b", expected_version=1, amount=Decimal("1.00"))
    opp.refresh_from_db()
    assert opp.amount == Decimal("999.00") and opp.version == 2
    assert not OpportunityFieldHistory.objects.filter(opportunity=opp, source="b").exists()


def test_losing_keeps_the_furthest_open_stage(stages):
    assert next_reached(stages["Engaging"], stages["Lost"]) == stages["Engaging"]
    assert next_reached(None, stages["Lost"]) == stages["Prospecting"]
    assert next_reached(stages["Engaging"], stages["Prospecting"]) == stages["Engaging"]
    assert next_reached(stages["Prospecting"], stages["Won"]) == stages["Won"]


def test_owner_change_is_kept_as_history_by_username(stages):
    opp = _open_deal("Engaging")
    old_owner = opp.owner.username
    other = User.objects.exclude(pk=opp.owner_id).filter(role="rep").first()
    update_opportunity(opp, changed_by=None, source="test", owner=other)
    h = OpportunityFieldHistory.objects.get(opportunity=opp, field="owner", source="test")
    assert (h.old_value, h.new_value) == (old_owner, other.username)


def test_a_new_deal_s_whole_history_in_the_order_it_is_read(stages):
    """Every creation row of two new deals, as stored (id order): the initial values at the first stage's
    instant, then each stage entered with its category; the category row only when the category changes."""
    rep = User.objects.get(username="darcel.schlecht")
    midnight = lambda y, m, d: dt.datetime(y, m, d, tzinfo=dt.UTC)  # noqa: E731
    won = OpportunityRow(
        values={"external_id": "H-1", "owner": rep, "stage": stages["Won"], "amount": Decimal("1200.5"),
                "expected_close_on": dt.date(2017, 3, 1), "created_on": dt.date(2017, 1, 2)},
        stage_dates={stages["Prospecting"]: dt.date(2017, 1, 2), stages["Engaging"]: dt.date(2017, 1, 9),
                     stages["Won"]: dt.date(2017, 2, 20)},
    )
    fresh = OpportunityRow(  # no dates: one stage at the creation, no amount, no expected close
        values={"external_id": "H-2", "owner": rep, "stage": stages["Engaging"], "amount": None,
                "created_on": dt.date(2017, 4, 5)},
    )
    upsert_opportunities([won, fresh], source="t:h")

    def rows(key):
        return list(
            OpportunityFieldHistory.objects.filter(opportunity__external_id=key).order_by("pk")
            .values_list("field", "old_value", "new_value", "changed_at", "source")
        )

    start = midnight(2017, 1, 2)
    assert rows("H-1") == [
        ("amount", None, "1200.50", start, "t:h"),
        ("expected_close_on", None, "2017-03-01", start, "t:h"),
        ("owner", None, "darcel.schlecht", start, "t:h"),
        ("stage", None, "Prospecting", start, "t:h"),
        ("forecast_category", None, "pipeline", start, "t:h"),
        ("stage", "Prospecting", "Engaging", midnight(2017, 1, 9), "t:h"),  # same category: no row for it
        ("stage", "Engaging", "Won", midnight(2017, 2, 20), "t:h"),
        ("forecast_category", "pipeline", "closed", midnight(2017, 2, 20), "t:h"),
    ]
    assert rows("H-2") == [
        ("owner", None, "darcel.schlecht", midnight(2017, 4, 5), "t:h"),
        ("stage", None, "Engaging", midnight(2017, 4, 5), "t:h"),
        ("forecast_category", None, "pipeline", midnight(2017, 4, 5), "t:h"),
    ]


def test_a_value_known_later_is_written_between_the_stages_around_it(stages):
    """A ``known_on`` change is stored (id order) after the rows before its instant and before the later ones."""
    rep = User.objects.get(username="darcel.schlecht")
    midnight = lambda y, m, d: dt.datetime(y, m, d, tzinfo=dt.UTC)  # noqa: E731
    deal = OpportunityRow(
        values={"external_id": "H-3", "owner": rep, "stage": stages["Won"], "amount": Decimal("250"),
                "created_on": dt.date(2017, 1, 2)},
        stage_dates={stages["Prospecting"]: dt.date(2017, 1, 2), stages["Engaging"]: dt.date(2017, 1, 9),
                     stages["Won"]: dt.date(2017, 2, 20)},
        known_on={"amount": (dt.date(2017, 1, 20), Decimal("100"))},
    )
    upsert_opportunities([deal], source="t:k")
    rows = list(
        OpportunityFieldHistory.objects.filter(opportunity__external_id="H-3").order_by("pk")
        .values_list("field", "old_value", "new_value", "changed_at")
    )
    start = midnight(2017, 1, 2)
    assert rows == [
        ("amount", None, "100.00", start),
        ("owner", None, "darcel.schlecht", start),
        ("stage", None, "Prospecting", start),
        ("forecast_category", None, "pipeline", start),
        ("stage", "Prospecting", "Engaging", midnight(2017, 1, 9)),
        ("amount", "100.00", "250.00", midnight(2017, 1, 20)),
        ("stage", "Engaging", "Won", midnight(2017, 2, 20)),
        ("forecast_category", "pipeline", "closed", midnight(2017, 2, 20)),
    ]


def test_batch_upsert_creates_stage_timeline_and_is_idempotent(stages):
    rep = User.objects.get(username="darcel.schlecht")
    row = OpportunityRow(
        values={
            "external_id": "T-1",
            "owner": rep,
            "stage": stages["Lost"],
            "amount": Decimal("10.00"),
            "created_on": dt.date(2017, 1, 2),
        },
        stage_dates={
            stages["Engaging"]: dt.date(2017, 1, 5),
            stages["Won"]: dt.date(2017, 2, 1),
            stages["Lost"]: dt.date(2017, 2, 1),
        },
    )
    first = upsert_opportunities([row], source="t")
    assert (first.created, first.updated, first.unchanged) == (1, 0, 0)
    opp = Opportunity.objects.get(external_id="T-1")
    assert opp.reached_stage == stages["Engaging"]  # lost after engaging; never won
    stage_rows = list(opp.history.filter(field="stage").values_list("old_value", "new_value", "changed_at"))
    assert stage_rows == [
        (None, "Engaging", dt.datetime(2017, 1, 5, tzinfo=dt.UTC)),
        ("Engaging", "Lost", dt.datetime(2017, 2, 1, tzinfo=dt.UTC)),
    ]
    again = upsert_opportunities([row], source="t")
    assert (again.created, again.updated, again.unchanged, again.history_rows) == (0, 0, 1, 0)
