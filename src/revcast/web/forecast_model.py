"""The win model page: a stored model version's card (``WinModel.card``) as figures, tables and two charts.

The card is the engine's JSON (``forecasting.engine.winmodel``): it holds only aggregates (deal counts,
scores, calibration bins, feature importance), no deal, so every logged-in user may read it.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from revcast.forecasting.models import WinModelVersion
from revcast.web import forecast_charts, forecast_data
from revcast.web.forecast_labels import FeatureNames

KIND_LABELS = {
    "lightgbm": gettext_lazy("Gradient-boosted trees (LightGBM), calibrated"),
    "stage_rates": gettext_lazy("Historical win rate of each stage"),
    "base_rate": gettext_lazy("Overall historical win rate"),
    "stage_table": gettext_lazy("Probabilities of the stage table"),
}
SPLITS = (("train", gettext_lazy("Training")), ("validation", gettext_lazy("Validation")),
          ("holdout", gettext_lazy("Hold-out")))


def _number(value: Any, digits: int = 3) -> str:
    if value is None:
        return "–"
    try:
        return f"{float(value):.{digits}f}"
    except (TypeError, ValueError):
        return str(value)


def _count(value: Any) -> str:
    if value is None:
        return "–"
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return str(value)


def _sizes(card: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per split: deals, rows (as-of samples), won, lost and the close dates it spans."""
    data = card.get("data") or {}
    split = card.get("split") or {}
    bounds = {"train": ("train_from", "validation_from"), "validation": ("validation_from", "holdout_from"),
              "holdout": ("holdout_from", "holdout_to")}
    rows = []
    for key, label in SPLITS:
        size = data.get(key)
        if not isinstance(size, dict):
            continue
        first, last = bounds[key]
        rows.append({
            "key": key, "label": label,
            "deals": _count(size.get("deals")), "rows": _count(size.get("rows")),
            "won": _count(size.get("won")), "lost": _count(size.get("lost")),
            "start": forecast_data.as_date(split.get(first)), "end": forecast_data.as_date(split.get(last)),
        })
    return rows


def _importance(card: dict[str, Any]) -> list[tuple[str, float]]:
    """(feature label, share of the model's total gain), largest first."""
    names = FeatureNames()
    pairs = []
    for item in card.get("feature_importance") or []:
        if isinstance(item, dict) and item.get("feature") is not None:
            pairs.append((names.shown(str(item["feature"])), float(item.get("gain_share") or 0.0)))
    return sorted(pairs, key=lambda p: -p[1])


def _figures(card: dict[str, Any]) -> tuple[list[str], list[dict[str, Any]]]:
    """The hold-out scores of LightGBM and of the stage rates side by side (the base rate's Brier as a row).

    Columns are only those the card has: a fallback trained on too little history has no hold-out."""
    columns: list[tuple[str, dict[str, Any]]] = []
    if card.get("holdout"):
        columns.append(("LightGBM", card["holdout"]))
    if card.get("stage_rates_holdout"):
        columns.append((_("Stage rates"), card["stage_rates_holdout"]))
    metrics = [
        ("auc", _("AUC"), _("0.5 = guessing, 1 = every won deal ranked above every lost one; higher is better")),
        ("brier", _("Brier score"), _("mean squared error of the probabilities; lower is better")),
        ("base_rate_brier", _("Brier score of the base rate"),
         _("the same when every deal gets the overall win rate: the score to beat")),
        ("log_loss", _("Log loss"), _("lower is better")),
        ("ece", _("Expected calibration error"), _("mean gap between predicted and observed win rate")),
    ]
    rows = [{"key": key, "label": label, "help": help_text,
             "values": [_number(scores.get(key), 4 if key != "auc" else 3) for _name, scores in columns]}
            for key, label, help_text in metrics]
    return [name for name, _scores in columns], rows


def _served_calibration(card: dict[str, Any]) -> list[dict[str, Any]]:
    """The calibration bins of what the model serves (the stage rates when LightGBM was not good enough)."""
    served = card.get("served_holdout") or {}
    return list(served.get("calibration_table") or card.get("calibration_table") or [])


def model_context(version: WinModelVersion | None) -> dict[str, Any]:
    if version is None:
        return {"version": None}
    card = version.card or {}
    columns, figures = _figures(card)
    calibration = _served_calibration(card)
    importance = _importance(card)
    data = card.get("data") or {}
    return {
        "version": version,
        "kind_label": KIND_LABELS.get(version.kind, version.kind),
        "verdict": version.verdict,
        "lightgbm_verdict": card.get("lightgbm_verdict", ""),
        "beats_base_rate": card.get("beats_base_rate"),
        "figure_columns": columns,
        "figures": figures,
        "calibration_method": (card.get("calibration") or {}).get("method", "")
        if isinstance(card.get("calibration"), dict) else "",
        "closed": {"deals": _count(data.get("closed_deals")), "won": _count(data.get("won")),
                   "lost": _count(data.get("lost"))},
        "base_rate": _percent(card.get("base_rate")),
        "sizes": _sizes(card),
        "calibration_chart": forecast_charts.calibration_chart(calibration) if calibration else None,
        "importance_chart": forecast_charts.importance_chart(importance) if importance else None,
        "other_versions": list(WinModelVersion.objects.exclude(pk=version.pk).order_by("-created_at", "-id")
                               .only("pk", "kind", "cutoff", "created_at", "is_active")[:10]),
    }


def _percent(value: Any) -> str:
    return forecast_charts.percent(value) if value is not None else "–"
