"""Duplicate opportunities on the Maven data, which holds none but much repeat business: every pair the
dedup proposes must be within the limits a duplicate entry can be, checked against the raw CSV file."""

from __future__ import annotations

import datetime as dt
from itertools import combinations

import pytest

from tests.dataio.support import raw_rows

pytestmark = pytest.mark.usefixtures("maven")


def _day(text: str) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


def test_proposed_opportunity_duplicates_are_never_repeat_deals_far_apart():
    from revcast.dataio.dedup.services import find
    from revcast.pipeline.models import Opportunity

    raw = {r["opportunity_id"]: r for r in raw_rows("sales_pipeline.csv")}
    result = find("opportunities")
    clusters = result.clusters()
    external = dict(Opportunity.objects.values_list("pk", "external_id"))
    # Repeat business: the same account, product and rep more than once (what used to be proposed).
    repeat = {}
    for r in raw.values():
        key = (r["account"], r["product"], r["sales_agent"])
        repeat[key] = repeat.get(key, 0) + 1
    assert sum(n for n in repeat.values() if n > 1) > 5000
    assert clusters and len(clusters) < 400
    for members in clusters.values():
        assert len(members) >= 2
        for a, b in combinations(members, 2):
            ra, rb = raw[external[a]], raw[external[b]]
            assert (ra["account"], ra["product"], ra["sales_agent"]) == (rb["account"], rb["product"], rb["sales_agent"])
            for column, limit in (("engage_date", 21), ("close_date", 45)):
                da, db = _day(ra[column]), _day(rb[column])
                if da and db:
                    assert abs((da - db).days) <= limit, (a, b, column)
