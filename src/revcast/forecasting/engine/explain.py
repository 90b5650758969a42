"""Per-deal factors in words: ``{"feature": "close_date_pushes", "value": 3, "points": -12.4}`` ->
"close date pushed 3 times: −12 pts".

Built-in features get a sentence each; a custom field reads "custom.KEY = value"; any other column
"name value". Points are rounded to whole points (one decimal under one point) and signed with a true
minus sign (U+2212), as figures are typeset.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

MINUS = "\u2212"


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 or float(value).is_integer() else f"{value:,.1f}"


def _days(value: float) -> str:
    n = round(float(value))
    return "1 day" if n == 1 else f"{n} days"


def _times(n: int) -> str:
    return {0: "never", 1: "once", 2: "twice"}.get(n, f"{n} times")


def _pushes(v: Any) -> str:
    n = int(v)
    return "close date never pushed" if n == 0 else f"close date pushed {_times(n)}"


def _since_activity(v: Any) -> str:
    return "no activity logged" if _missing(v) else f"no activity for {_days(v)}"


def _expected_close(v: Any) -> str:
    if _missing(v):
        return "no expected close date"
    if v < 0:
        return f"expected close date passed {_days(-v)} ago"
    return f"expected close in {_days(v)}"


def _rate(whose: str) -> Callable[[Any], str]:
    def say(v: Any) -> str:
        return f"{whose} has no closed deals yet" if _missing(v) else f"{whose}'s win rate {float(v) * 100:.0f}%"
    return say


WORDS: dict[str, Callable[[Any], str]] = {
    "close_date_pushes": _pushes,
    "days_since_activity": _since_activity,
    "days_to_expected_close": _expected_close,
    "owner_win_rate_before": _rate("owner"),
    "account_win_rate_before": _rate("account"),
    "stage": lambda v: f"stage {v}",
    "amount": lambda v: "no amount" if _missing(v) else f"amount {_number(float(v))}",
    "age_days": lambda v: f"open for {_days(v)}",
    "days_in_stage": lambda v: f"{_days(v)} in stage",
    "activity_count": lambda v: f"{int(v)} activit{'y' if int(v) == 1 else 'ies'} logged",
    "activities_last_30d": lambda v: f"{int(v)} activit{'y' if int(v) == 1 else 'ies'} in the last 30 days",
    "forecast_category": lambda v: f"forecast category {v}",
    "account_size": lambda v: f"account size {v}",
}


def points(value: float) -> str:
    """Signed percentage points: "+4 pts", "−12 pts", "+0.4 pts"."""
    shown = f"{abs(value):.1f}" if abs(value) < 0.95 else f"{abs(value):.0f}"
    return f"{MINUS if value < 0 else '+'}{shown} pts"


def label(feature: str, value: Any) -> str:
    """The factor's condition in words, without its points."""
    if feature in WORDS and (not _missing(value) or feature in {
            "days_since_activity", "days_to_expected_close", "owner_win_rate_before", "account_win_rate_before",
            "amount"}):
        return WORDS[feature](value)
    shown = "unknown" if _missing(value) else (_number(value) if isinstance(value, int | float) else str(value))
    if feature.startswith("custom."):
        return f"{feature} = {shown}"
    return f"{feature.replace('_', ' ')} {shown}"


def describe(factor: dict[str, Any]) -> str:
    """e.g. "close date pushed 3 times: −12 pts", "product GTX Pro: +4 pts"; a stage-rate factor (the
    fallback when history holds no other signal) also gives the rate: "stage Engaging (74% won before): +8 pts"."""
    condition = label(factor["feature"], factor.get("value"))
    if factor.get("rate") is not None:
        condition += f" ({float(factor['rate']):.0%} won before)"
    return f"{condition}: {points(float(factor['points']))}"
