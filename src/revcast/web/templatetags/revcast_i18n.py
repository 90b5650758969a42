"""Labels of reference data in the active language: stages, picklist values, regions and teams.

Stages, picklist values, regions and teams are data: their stored names stay what they are (URLs, filters and
exports use them), but each can carry a Chinese label (``Stage.label_zh``, ``PicklistValue.label_zh``,
``Region.name_zh``, ``Team.name_zh``), shown instead of the stored name when the page is in Chinese.

In templates::

    {% load revcast_i18n %}
    {{ opp.stage|stage_label }}   {{ value|picklist_label }}   {{ team|local_name }}

Python code (views, charts) uses the same functions, and ``value_labels(dimension)`` for the values of a report
dimension (stored value -> label shown).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django import template
from django.utils.translation import get_language

register = template.Library()

# Report dimensions whose values are governed picklist codes.
PICKLIST_DIMENSIONS = {"industry": "industry", "loss_reason": "loss_reason"}


def is_chinese() -> bool:
    """Is the active language Chinese (zh-hans, zh-cn ...)?"""
    return (get_language() or "").lower().startswith("zh")


@register.filter
def stage_label(stage: Any) -> str:
    """A stage's label: its Chinese label in Chinese when it has one, else its name."""
    if stage is None:
        return ""
    if is_chinese() and getattr(stage, "label_zh", ""):
        return str(stage.label_zh)
    return str(stage.name)


@register.filter
def picklist_label(value: Any) -> str:
    """A picklist value's label in the active language (the English label when it has no Chinese one)."""
    if value is None:
        return ""
    if is_chinese() and getattr(value, "label_zh", ""):
        return str(value.label_zh)
    return str(value.label_en or value.value)


@register.filter
def local_name(obj: Any) -> str:
    """The name of a region or team in the active language (``name_zh`` in Chinese when set)."""
    if obj is None:
        return ""
    if is_chinese() and getattr(obj, "name_zh", ""):
        return str(obj.name_zh)
    return str(obj.name)


def stage_labels() -> dict[str, str]:
    """Stage name -> label shown, for every stage (one query)."""
    from revcast.pipeline.models import Stage

    return {s.name: stage_label(s) for s in Stage.objects.only("name", "label_zh")}


def value_labels(dimension: str) -> dict[Any, str]:
    """Stored value -> label shown for the values of a report dimension; empty when values are shown as stored.

    Stages, regions, teams and picklist codes (industry, loss reason) get their labels; a forecast category
    code gets its translated name. Owners, products, accounts and dates are shown as they are.
    """
    if dimension == "stage":
        return stage_labels()
    if dimension == "forecast_category":
        from revcast.pipeline.models import ForecastCategory

        return {value: str(label) for value, label in ForecastCategory.choices}
    if dimension in ("region", "team"):
        from revcast.org.models import Region, Team

        model = Region if dimension == "region" else Team
        if not is_chinese():
            return {}
        return {o.name: local_name(o) for o in model.objects.only("name", "name_zh")}
    if dimension in PICKLIST_DIMENSIONS:
        from revcast.core.models import PicklistValue

        values = PicklistValue.objects.filter(picklist__key=PICKLIST_DIMENSIONS[dimension])
        return {v.value: picklist_label(v) for v in values}
    return {}


@register.filter
def grouped(value: Any, decimals: int = 2) -> str:
    """A number with ``decimals`` decimals and comma thousands separators in every language (1,234,567.00).

    Django's Chinese number format has no thousands separator, while the dashboard and the reports group
    digits by three: amounts read the same on every page and in both languages."""
    if value is None or value == "":
        return ""
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    return f"{number:,.{int(decimals)}f}"
