"""Shared by the forecasting and forecast API tests: the raw Maven deals, and stored forecasts made once per
test module (training a model takes seconds, so it is not repeated for every test).

``stored_forecasts`` writes through the real services with the database unblocked (committed, like the Maven
import of the session) and deletes what it made when the module is done; every test still runs inside its
own rolled-back transaction on top of it.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from functools import cache

from tests.api import support as S
from tests.conftest import MAVEN_DIR

AS_OF = "2017-11-15"  # mid-quarter: Q4 has closed deals already, open deals and new business to come
PERIOD = "2017-Q4"
# A close is recorded at 00:00 UTC of its close date, and a change made at the as-of time is known then: the deals
# won "before" an as-of of 2017-11-15 00:00 are those with a close date up to and including 2017-11-15.
WON_BEFORE = "2017-11-16"


@cache
def raw_deals() -> list[dict[str, str]]:
    with (MAVEN_DIR / "sales_pipeline.csv").open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def owner_of_external_id() -> dict[str, str]:
    """Opportunity external id -> owner username, from the CSV."""
    return {d["opportunity_id"]: S.username(d["sales_agent"]) for d in raw_deals()}


def won_deals(first: str, before: str, owners: set[str] | None = None) -> list[dict[str, str]]:
    """The CSV rows of deals won on ``first`` <= close_date < ``before`` (of ``owners``)."""
    return [d for d in raw_deals()
            if d["deal_stage"] == "Won" and first <= d["close_date"] < before
            and (owners is None or S.username(d["sales_agent"]) in owners)]


def won_between(first: str, before: str, owners: set[str] | None = None) -> Decimal:
    """Sum of close_value of deals won on ``first`` <= close_date < ``before`` (of ``owners``), from the CSV."""
    return sum((Decimal(d["close_value"]) for d in won_deals(first, before, owners)), Decimal(0))


def won_by_owner(first: str, before: str) -> dict[str, Decimal]:
    """Owner username -> sum of close_value of their deals won on ``first`` <= close_date < ``before``, from the CSV
    (owners without such a deal are not in it)."""
    out: dict[str, Decimal] = {}
    for d in won_deals(first, before):
        owner = S.username(d["sales_agent"])
        out[owner] = out.get(owner, Decimal(0)) + Decimal(d["close_value"])
    return out


def managers() -> list[str]:
    return sorted(set(S.manager_of().values()))


@dataclass
class Stored:
    model_id: int  # the active model (cutoff: end of data)
    run_id: int  # PERIOD as of AS_OF


@contextmanager
def stored_forecasts(django_db_blocker) -> Iterator[Stored]:
    from revcast.forecasting import services
    from revcast.forecasting.demo import end_of_data
    from revcast.forecasting.models import ForecastRun, WinModelVersion

    with django_db_blocker.unblock():
        before = (set(WinModelVersion.objects.values_list("pk", flat=True)),
                  set(ForecastRun.objects.values_list("pk", flat=True)))
        model = services.train_model(cutoff=end_of_data(), seed=0)
        run = services.run_forecast(period=PERIOD, as_of=AS_OF, seed=0)
    try:
        yield Stored(model_id=model.pk, run_id=run.pk)
    finally:
        with django_db_blocker.unblock():
            ForecastRun.objects.exclude(pk__in=before[1]).delete()
            WinModelVersion.objects.exclude(pk__in=before[0]).delete()
