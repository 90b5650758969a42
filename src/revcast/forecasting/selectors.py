"""Reads of stored forecasts on behalf of a user: every one goes through ``core.visibility``.

A forecast run is stored company-wide (``services.run_forecast``). A user's share of it is re-simulated from the
stored inputs restricted to what the user may see: the deal rows of opportunities they can see, the deals
already won in the period among those, and the new-business pool rows of the owners in their scope. The engine
draws every deal's outcomes from a hash of (seed, deal, draw) and the new deals for the whole company before
dropping those outside the scope, so the same draws serve every scope: teams add up to the company in every
draw, and the company view of an admin is exactly the stored totals.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np
import pandas as pd
from django.db.models import QuerySet

from revcast.core import visibility
from revcast.forecasting.engine import forecast as engine_forecast
from revcast.forecasting.engine.winmodel import WinModel
from revcast.forecasting.models import BacktestRun, DealForecast, ForecastRun, WinModelVersion

# A run's large JSON inputs: not loaded with every deal row that joins its run.
HEAVY_RUN_FIELDS = ("run__new_business", "run__closed", "run__by_slice", "run__totals")

# The dimensions a forecast can be broken down by: columns of the stored deal rows, closed deals and the
# new-business pool alike.
SLICES = ("owner", "team", "region", "product")


class ForecastError(ValueError):
    """Input a forecast cannot be made or read with (a bad period, an unknown dimension, no data)."""


def check_by(by: str | None) -> str | None:
    if by in (None, ""):
        return None
    if by not in SLICES:
        raise ForecastError(f"by {by!r}: expected one of {', '.join(SLICES)}")
    return by


# ---------------------------------------------------------------- models

_LOADED: OrderedDict[tuple[int, str], WinModel] = OrderedDict()
_LOADED_MAX = 4


def active_version() -> WinModelVersion | None:
    return WinModelVersion.objects.filter(is_active=True).first()


def load_model(version: WinModelVersion) -> WinModel:
    """The engine's model of a stored version, rebuilt once per version and process (a few versions kept).

    Keyed by id and creation time: an id can come back after a rolled-back transaction on SQLite."""
    key = (version.pk, version.created_at.isoformat())
    model = _LOADED.get(key)
    if model is None:
        model = WinModel.from_dict(version.payload)
        _LOADED[key] = model
        while len(_LOADED) > _LOADED_MAX:
            _LOADED.popitem(last=False)
    else:
        _LOADED.move_to_end(key)
    return model


def active_model() -> WinModel | None:
    """The active win model (``WinModel``), or None when none was trained yet."""
    version = active_version()
    return None if version is None else load_model(version)


# ---------------------------------------------------------------- runs


def latest_run(period: str | None = None) -> ForecastRun | None:
    """The newest forecast run of a period (``2017-Q4``, ``2017-11``), or the newest of all when None."""
    qs = ForecastRun.objects.all()
    if period:
        qs = qs.filter(period=period)
    return qs.order_by("-created_at", "-id").first()


def latest_backtest(period_kind: str | None = None) -> BacktestRun | None:
    qs = BacktestRun.objects.all()
    if period_kind:
        qs = qs.filter(period_kind=period_kind)
    return qs.order_by("-created_at", "-id").first()


def visible_deal_forecasts(run: ForecastRun, user: Any) -> QuerySet:
    """The deal rows of ``run`` whose opportunity ``user`` may see (``user=None``: the system, all of them)."""
    qs = DealForecast.objects.filter(run=run)
    if visibility.visible_owner_ids(user) is None:
        return qs
    return qs.filter(opportunity__in=visibility.opportunities(user).values("pk"))


def deal_score(opportunity: Any, user: Any, *, period: str | None = None) -> DealForecast | None:
    """The newest stored score of one deal (of a period's runs, when given), if ``user`` may see the deal.

    ``opportunity`` is an ``Opportunity`` or its id. None when the deal is not visible, or was never scored.
    """
    pk = getattr(opportunity, "pk", opportunity)
    if not visibility.opportunities(user).filter(pk=pk).exists():
        return None
    qs = DealForecast.objects.filter(opportunity_id=pk).select_related("run").defer(*HEAVY_RUN_FIELDS)
    if period:
        qs = qs.filter(run__period=period)
    return qs.order_by("-run__created_at", "-run_id").first()


# ---------------------------------------------------------------- a user's share of a run

_SCORED_COLUMNS = {
    "opportunity_id": "opportunity_id",
    "owner_username": "owner",
    "stage": "stage",
    "team": "team",
    "region": "region",
    "product": "product",
    "amount": "amount",
    "p_win": "p_win",
    "p_timing": "p_timing",
    "p": "p",
}


def _blank_as_missing(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    for col in columns:
        if col in frame.columns:
            frame[col] = frame[col].astype(object).where(frame[col].notna() & (frame[col] != ""), None)
    return frame


def scored_frame(rows: QuerySet) -> pd.DataFrame:
    """Stored deal rows as the engine's scored frame (opportunity order, as the engine produced them)."""
    records = rows.order_by("opportunity_id").values_list(*_SCORED_COLUMNS)
    frame = pd.DataFrame.from_records(list(records), columns=list(_SCORED_COLUMNS.values()))
    frame["amount"] = frame["amount"].astype(float)
    for col in ("p_win", "p_timing", "p"):
        frame[col] = frame[col].astype(float)
    frame["expected"] = frame["p"] * frame["amount"]
    return _blank_as_missing(frame, SLICES)


def closed_frame(run: ForecastRun, user: Any) -> pd.DataFrame:
    """Deals won inside the period before ``as_of`` (stored with the run) that ``user`` may see."""
    frame = pd.DataFrame.from_records(
        run.closed.get("deals", []), columns=["opportunity_id", "owner", "amount", *SLICES[1:], "closed_at"]
    )
    frame["amount"] = frame["amount"].astype(float)
    if visibility.visible_owner_ids(user) is not None and len(frame):
        ids = frame["opportunity_id"].tolist()
        seen = set(visibility.opportunities(user).filter(pk__in=ids).values_list("pk", flat=True))
        frame = frame[frame["opportunity_id"].isin(seen)].reset_index(drop=True)
    return _blank_as_missing(frame, SLICES)


def visible_usernames(user: Any) -> set[str] | None:
    """Usernames of the owners ``user`` sees records of; None for everyone."""
    owners = visibility.visible_owner_ids(user)
    if owners is None:
        return None
    from revcast.org.models import User

    return set(User.objects.filter(pk__in=owners).values_list("username", flat=True))


def new_business(run: ForecastRun, user: Any) -> tuple[engine_forecast.NewBusiness, np.ndarray | None]:
    """The run's new-business pool and the mask of its rows owned by someone in ``user``'s scope."""
    new = engine_forecast.NewBusiness.from_dict(run.new_business)
    new.pool = _blank_as_missing(new.pool, SLICES)
    names = visible_usernames(user)
    if names is None:
        return new, None
    owners = new.pool["owner"] if "owner" in new.pool.columns else pd.Series([], dtype=object)
    return new, owners.isin(names).to_numpy(dtype=bool)


def simulate_scope(run: ForecastRun, user: Any, by: str | None = None, **options: Any) -> dict[str, Any]:
    """The engine's simulation of what ``user`` may see of ``run`` (its deals, closed revenue and new business),
    with the run's seed, draws and dispersion; ``options`` go to ``engine.forecast.simulate`` (``rollups``). The
    result also holds ``deals``, the number of open deals simulated."""
    scored = scored_frame(visible_deal_forecasts(run, user))
    closed = closed_frame(run, user)
    new, mask = new_business(run, user)
    sim = engine_forecast.simulate(scored, new, closed, by=by, draws=run.draws, seed=run.seed, new_scope=mask,
                                   dispersion=run.dispersion, **options)
    return {**sim, "deals": len(scored)}


def scope_forecast(run: ForecastRun, user: Any, by: str | None = None) -> dict[str, Any]:
    """``run`` restricted to what ``user`` may see, re-simulated with the run's seed, draws and dispersion.

    Returns ``{"run", "period", "as_of", "scope", "deals", "total": {expected, p10, p50, p90, closed,
    open_expected, new_expected}, "by", "groups": [{"key", ...same figures}]}``. For a user who sees everything
    the total equals the stored ``run.totals``; the groups of any ``by`` add up to the total in expectation and
    draw by draw.
    """
    by = check_by(by)
    sim = simulate_scope(run, user, by)
    return {
        "run": run.pk,
        "period": run.period,
        "period_start": run.period_start.isoformat(),
        "period_end": run.period_end.isoformat(),
        "as_of": run.as_of.isoformat(),
        "scope": "all" if visibility.visible_owner_ids(user) is None else "subtree",
        "deals": sim["deals"],
        "total": sim["total"],
        "by": by,
        "groups": sim.get("groups", []),
    }


def top_deals(run: ForecastRun, user: Any, limit: int = 10) -> list[DealForecast]:
    """The deals of ``run`` ``user`` may see with the highest expected value."""
    rows = visible_deal_forecasts(run, user).select_related("opportunity")
    return list(rows.order_by("-expected", "opportunity_id")[:limit])
