"""The AI's range (P10/P50/P90) for every node of a roll-up, from one re-simulation of the newest forecast run.

The run's deals the viewer may see are simulated once, grouped by owner; each node's range comes from the sum
of its subtree's owners draw by draw (``engine.forecast.simulate(rollups=...)``), so a team's P50 is the median
of the team's total, not a sum of medians.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from revcast.forecasting import selectors
from revcast.forecasting.models import ForecastRun

if TYPE_CHECKING:
    from revcast.forecasting.collab.rollup import View

CENT = Decimal("0.01")


def run_for(period: str, at: Any = None) -> ForecastRun | None:
    """The newest run of ``period``; for a moment in the past, the newest made as of then."""
    if at is None:
        return selectors.latest_run(period)
    return ForecastRun.objects.filter(period=period, as_of__lte=at).order_by("-as_of", "-created_at", "-id").first()


def _money(value: float) -> Decimal:
    return Decimal(repr(float(value))).quantize(CENT)


def subtree_ranges(view: View) -> dict[Any, dict[str, Any]] | None:
    """{user id (None: the company): {p10, p50, p90, expected, run, as_of}}; None when no run exists."""
    run = run_for(view.period.label, view.at)
    if run is None:
        return None
    tree = view.tree
    names = {pk: u.username for pk, u in tree.users.items()}
    rollups: dict[Any, list[str]] = {pk: [names[m] for m in tree.subtree(pk)] for pk in tree.users}
    rollups[None] = list(names.values())
    sim = selectors.simulate_scope(run, view.viewer, "owner", rollups=rollups)
    return {
        key: {"p10": _money(r["p10"]), "p50": _money(r["p50"]), "p90": _money(r["p90"]),
              "expected": _money(r["expected"]), "run": run.pk, "as_of": run.as_of}
        for key, r in sim["rollups"].items()
    }
