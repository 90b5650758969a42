"""Words for the win model's inputs on the pages: the fixed feature names of the engine
(``forecasting.engine.winmodel.NUMERIC``, ``CATEGORICAL`` and the static deal columns) translated, custom
fields by their own labels.

A stored factor carries the engine's English sentence (``text``: "close date pushed 3 times: −12 pts") and
its parts (``feature``, ``value``, ``points``). In English the page shows the engine's sentence; in another
language it builds one from the translated feature label, the value and the points, so that a Chinese page
does not show English sentences. A feature this module does not know keeps the engine's sentence.
"""

from __future__ import annotations

import math
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from revcast.web.templatetags.revcast_i18n import is_chinese, stage_labels

FEATURE_LABELS = {
    "stage": gettext_lazy("Stage"),
    "stage_order": gettext_lazy("Stage"),
    "forecast_category": gettext_lazy("Forecast category"),
    "amount": gettext_lazy("Amount"),
    "age_days": gettext_lazy("Age (days)"),
    "days_in_stage": gettext_lazy("Days in the stage"),
    "close_date_pushes": gettext_lazy("Times the close date was pushed"),
    "days_to_expected_close": gettext_lazy("Days to the expected close date"),
    "activity_count": gettext_lazy("Activities"),
    "activities_last_30d": gettext_lazy("Activities in the last 30 days"),
    "days_since_activity": gettext_lazy("Days since the last activity"),
    "owner_win_rate_before": gettext_lazy("Owner's win rate so far"),
    "owner_closed_before": gettext_lazy("Owner's closed deals so far"),
    "account_win_rate_before": gettext_lazy("Account's win rate so far"),
    "account_closed_before": gettext_lazy("Account's closed deals so far"),
    "product": gettext_lazy("Product"),
    "series": gettext_lazy("Series"),
    "region": gettext_lazy("Region"),
    "team": gettext_lazy("Team"),
    "industry": gettext_lazy("Industry"),
    "account_size": gettext_lazy("Account size"),
}
RATES = {"owner_win_rate_before", "account_win_rate_before"}


def _custom_labels() -> dict[str, str]:
    from revcast.core.models import CustomField

    zh = is_chinese()
    out: dict[str, str] = {}
    for f in CustomField.objects.filter(active=True).order_by("object", "key"):
        out.setdefault(f"custom.{f.key}", (f.label_zh if zh and f.label_zh else f.label_en) or f.key)
    return out


class FeatureNames:
    """Feature name -> label shown; custom fields read once per page."""

    def __init__(self) -> None:
        self._custom: dict[str, str] | None = None

    def __call__(self, name: str) -> str | None:
        if name in FEATURE_LABELS:
            return str(FEATURE_LABELS[name])
        if name.startswith("custom."):
            if self._custom is None:
                self._custom = _custom_labels()
            return self._custom.get(name, name.removeprefix("custom."))
        return None

    def shown(self, name: str) -> str:
        return self(name) or name


def _value(feature: str, value: Any, stages: dict[str, str]) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return _("none")
    if feature == "stage":
        return stages.get(str(value), str(value))
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        if feature in RATES:
            return f"{float(value) * 100:.0f} %"
        return f"{value:,.0f}" if float(value).is_integer() or abs(value) >= 100 else f"{value:,.1f}"
    return str(value)


def factor_texts(factors: list[dict[str, Any]]) -> list[tuple[str, float]]:
    """(sentence shown, signed points) of each stored factor, in the page's language."""
    names = FeatureNames()
    stages: dict[str, str] | None = None
    out = []
    for item in factors:
        if not isinstance(item, dict):
            continue
        try:
            points = float(item.get("points") or 0.0)
        except (TypeError, ValueError):
            points = 0.0
        feature = str(item.get("feature") or "")
        text = str(item.get("text") or "")
        label = names(feature)
        if (is_chinese() or not text) and label is not None:
            if feature == "stage" and stages is None:
                stages = stage_labels()
            sign = "+" if points > 0 else ("−" if points < 0 else "±")
            value = _value(feature, item.get("value"), stages or {})
            if item.get("rate") is not None:  # a stage-rate fallback: the stage's historical win rate
                value += _(" (%(rate)s won before)") % {"rate": f"{float(item['rate']) * 100:.0f} %"}
            text = _("%(feature)s: %(value)s (%(sign)s%(points)s pts)") % {
                "feature": label, "value": value, "sign": sign, "points": f"{abs(points):.1f}"}
        if text:
            out.append((text, points))
    return out
