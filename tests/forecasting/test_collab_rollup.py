"""Roll-ups on a three-level hierarchy (reps -> managers -> regional head -> company), adjustments included.

Every expected number below is worked out by hand from the values the test submits, adjusts and books, with
the rules of ADR 0022 (the highest adjuster the viewer may see wins; the adjusted and those between do not
see an adjustment made above them)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from revcast.forecasting.collab import services
from revcast.forecasting.collab.rollup import RollupError, rollup

pytestmark = pytest.mark.django_db
Q4 = "2017-Q4"
T0 = dt.datetime(2017, 10, 2, 9, tzinfo=dt.UTC)


def at(days: int) -> dt.datetime:
    return T0 + dt.timedelta(days=days)


@pytest.fixture
def org(maven):
    from revcast.org.models import Quota, Team, User
    from revcast.pipeline.models import Stage
    from revcast.pipeline.services import create_opportunity

    def person(name: str, role: str, manager: User | None = None) -> User:
        return User.objects.create(username=name, first_name=name.title(), role=role, manager=manager)

    head = person("head", "manager")
    m1, m2 = person("m1", "manager", head), person("m2", "manager", head)
    r1, r2 = person("r1", "rep", m1), person("r2", "rep", m1)
    r3, r4 = person("r3", "rep", m2), person("r4", "rep", m2)
    won, engaging = Stage.objects.get(name="Won"), Stage.objects.get(name="Engaging")
    # r4 never submits: their deals speak for them (won 12,345.67 in Q4; an open commit deal of 1,000; a best-case
    # deal of 2,000; a pipeline deal of 4,000; a deal of 8,000 expected in January is outside Q4).
    deals = [
        dict(stage=won, amount=Decimal("12345.67"), closed_on=dt.date(2017, 11, 3), created_on=dt.date(2017, 9, 1)),
        dict(stage=engaging, amount=Decimal("1000"), expected_close_on=dt.date(2017, 12, 31), forecast_category="commit"),
        dict(stage=engaging, amount=Decimal("2000"), expected_close_on=dt.date(2017, 10, 1), forecast_category="best_case"),
        dict(stage=engaging, amount=Decimal("4000"), expected_close_on=dt.date(2017, 11, 30)),
        dict(stage=engaging, amount=Decimal("8000"), expected_close_on=dt.date(2018, 1, 1), forecast_category="commit"),
    ]
    for i, values in enumerate(deals):
        create_opportunity(changed_by=None, source="test", owner=r4, name=f"r4 deal {i}", **values)
    services.submit(r1, Q4, commit="50", best_case="60", at=at(0))
    services.submit(r1, Q4, commit="100", best_case="150", at=at(7))  # the newest counts
    services.submit(r2, Q4, commit="200", best_case="260", pipeline="900", at=at(1))
    services.submit(r3, Q4, commit="50", best_case="80", at=at(2))
    services.adjust(m1, r1, Q4, commit="90", note="m1: r1 is optimistic", at=at(8))
    services.adjust(head, r1, Q4, commit="70", note="head: r1 even less", at=at(9))
    services.adjust(m2, m2, Q4, best_case="400", note="m2: upside", at=at(8))
    services.adjust(head, m2, Q4, commit="300", note="head: m2's team call", at=at(9))
    team = Team.objects.create(name="M2 team", lead=m2)
    Quota.objects.create(period=Q4, period_start=dt.date(2017, 10, 1), period_end=dt.date(2018, 1, 1), user=r3,
                         amount=Decimal("100"))
    Quota.objects.create(period=Q4, period_start=dt.date(2017, 10, 1), period_end=dt.date(2018, 1, 1), user=r4,
                         amount=Decimal("20000"))
    Quota.objects.create(period=Q4, period_start=dt.date(2017, 10, 1), period_end=dt.date(2018, 1, 1), team=team,
                         amount=Decimal("25000"))
    return {u.username: u for u in (head, m1, m2, r1, r2, r3, r4)}


def figures(node):
    return {k: node[k] for k in ("commit", "best_case", "pipeline", "closed")}


def kids(node):
    return {c["user"]: c for c in node["children"]}


R4_COMMIT = Decimal("12345.67") + Decimal("1000")
R4_BEST = R4_COMMIT + Decimal("2000")
R4_PIPELINE = Decimal("7000")


def test_each_level_sees_its_own_numbers(org):
    r1 = rollup(org["r1"], Q4, ai=False)
    assert (r1["commit"], r1["best_case"], r1["adjusted"]) == (Decimal("100"), Decimal("150"), None)

    m1 = rollup(org["m1"], Q4, ai=False)
    assert kids(m1)["r1"]["commit"] == Decimal("90")  # m1's own adjustment; head's is above m1
    assert (m1["commit"], m1["best_case"]) == (Decimal("290"), Decimal("410"))

    m2 = rollup(org["m2"], Q4, ai=False)
    assert kids(m2)["r4"]["submitted"] is False
    assert figures(kids(m2)["r4"]) == {"commit": R4_COMMIT, "best_case": R4_BEST, "pipeline": R4_PIPELINE,
                                       "closed": Decimal("12345.67")}
    assert m2["commit"] == Decimal("50") + R4_COMMIT  # head's 300 is not visible to m2
    assert m2["best_case"] == Decimal("400") and m2["computed"]["best_case"] == Decimal("80") + R4_BEST
    assert m2["missing"] == ["r4"]
    assert (m2["quota"], m2["quota_members"]) == (Decimal("25000"), Decimal("20100"))

    head = rollup(org["head"], Q4, ai=False)
    m1_seen, m2_seen = kids(head)["m1"], kids(head)["m2"]
    assert kids(m1_seen)["r1"]["commit"] == Decimal("70")  # the highest adjuster wins
    assert m1_seen["commit"] == Decimal("270") and m1_seen["best_case"] == Decimal("410")
    assert (m2_seen["commit"], m2_seen["best_case"]) == (Decimal("300"), Decimal("400"))
    assert head["commit"] == Decimal("570") and head["best_case"] == Decimal("810")
    # Pipeline and closed are never adjusted: r1's pipeline is what r1's deals say (none), r2 gave 900.
    assert head["pipeline"] == Decimal("900") + R4_PIPELINE
    assert head["closed"] == Decimal("12345.67")
    assert head["missing"] == ["r4"]


def test_the_company_view_applies_every_adjustment(org, maven):
    from revcast.org.models import User

    admin = User.objects.create(username="boss", role="admin")
    company = rollup(admin, Q4, ai=False)
    assert company["user"] is None
    head = kids(company)["head"]
    assert (head["commit"], head["best_case"]) == (Decimal("570"), Decimal("810"))
    assert company["commit"] == sum((c["commit"] for c in company["children"]), Decimal(0))


def test_a_past_moment_uses_what_was_submitted_then(org):
    early = rollup(org["m1"], Q4, at=at(3), ai=False)
    # At day 3: r1's first call (50/60), r2's call, no adjustment yet.
    assert (early["commit"], early["best_case"]) == (Decimal("250"), Decimal("320"))


def test_managers_do_not_see_across_and_reps_not_above(org):
    with pytest.raises(RollupError):
        rollup(org["m1"], Q4, user=org["r3"], ai=False)
    with pytest.raises(RollupError):
        rollup(org["r1"], Q4, user=org["m1"], ai=False)
    assert services.may_adjust(org["head"], org["r3"]) and not services.may_adjust(org["m1"], org["r3"])
    assert not services.may_adjust(org["r1"], org["r1"]) and services.may_adjust(org["m1"], org["m1"])
    with pytest.raises(services.NotAllowed):
        services.adjust(org["r2"], org["r2"], Q4, commit="1", note="n")
    with pytest.raises(LookupError):
        services.adjust(org["m1"], org["r3"], Q4, commit="1", note="n")
