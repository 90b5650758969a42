"""Dimensions reports group and filter opportunities by: people, org, product, stage, account, time, custom.

Time dimensions follow the fiscal calendar (``core.fiscal``): ``month`` is the calendar month (``2017-03``),
``quarter`` the fiscal quarter (``2017-Q1``), ``year`` the fiscal year (``FY2017``; the bare ``2017`` while
fiscal years are calendar years, as reports always labelled it — ADR 0021).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import F, Q, QuerySet
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import TruncMonth, TruncQuarter, TruncYear
from django.utils.translation import gettext_noop

from revcast.core import fiscal
from revcast.core.models import CustomField
from revcast.reporting.params import ReportError


@dataclass(frozen=True)
class Dimension:
    name: str
    label: str  # English; marked with gettext_noop, translated where it is shown
    path: str | None = None  # ORM path for plain dimensions
    trunc: Any = None  # Trunc function for time dimensions
    custom_key: str | None = None  # custom field key (on the opportunity or its account)
    custom_prefix: str = ""  # "" for the opportunity's custom JSON, "account__" for the account's

    @property
    def is_time(self) -> bool:
        return self.trunc is not None

    def expression(self, date_field: str) -> Any:
        if self.trunc is not None:
            # Grouped by the day in SQL and rolled up to month/quarter/year by label_value: a date has few
            # distinct values, and SQLite's date truncation is a slow per-row Python function.
            return F(date_field)
        if self.custom_key is not None:
            return KeyTextTransform(self.custom_key, f"{self.custom_prefix}custom")
        return F(self.path)

    def label_value(self, value: Any) -> Any:
        if value is None:
            return None
        if self.custom_key is not None:
            # JSON values come back typed on SQLite and as text on PostgreSQL: one text form for both.
            return format(value, "g") if isinstance(value, float) else str(value)
        if self.trunc is not None and isinstance(value, dt.date):
            return fiscal.report_label(value, self.name)
        return value


PLAIN = {
    "owner": Dimension("owner", gettext_noop("Owner"), "owner__username"),
    "manager": Dimension("manager", gettext_noop("Manager"), "owner__manager__username"),
    "team": Dimension("team", gettext_noop("Team"), "owner__team__name"),
    "region": Dimension("region", gettext_noop("Region"), "owner__region__name"),
    "product": Dimension("product", gettext_noop("Product"), "product__name"),
    "series": Dimension("series", gettext_noop("Product series"), "product__series"),
    "stage": Dimension("stage", gettext_noop("Stage"), "stage__name"),
    "forecast_category": Dimension("forecast_category", gettext_noop("Forecast category"), "forecast_category"),
    "account": Dimension("account", gettext_noop("Account"), "account__name"),
    "industry": Dimension("industry", gettext_noop("Industry"), "account__industry"),
    "country": Dimension("country", gettext_noop("Country"), "account__country"),
    "loss_reason": Dimension("loss_reason", gettext_noop("Loss reason"), "loss_reason"),
    "currency": Dimension("currency", gettext_noop("Currency"), "currency"),
}
TIME = {
    "month": Dimension("month", gettext_noop("Month"), trunc=TruncMonth),
    "quarter": Dimension("quarter", gettext_noop("Quarter"), trunc=TruncQuarter),
    "year": Dimension("year", gettext_noop("Year"), trunc=TruncYear),
}


def get(name: str) -> Dimension:
    if name in PLAIN:
        return PLAIN[name]
    if name in TIME:
        return TIME[name]
    if name.startswith("custom."):
        key = name.removeprefix("custom.")
        fields = {f.object: f for f in CustomField.objects.filter(key=key, active=True)}
        if "opportunity" in fields:
            return Dimension(name, fields["opportunity"].label_en, custom_key=key)
        if "account" in fields:
            return Dimension(name, fields["account"].label_en, custom_key=key, custom_prefix="account__")
        raise ReportError(f"no active custom field {key!r} on opportunities or accounts")
    raise ReportError(f"unknown dimension {name!r}; known: {', '.join(available())}")


def available() -> list[str]:
    custom = [f"custom.{k}" for k in CustomField.objects.filter(active=True).values_list("key", flat=True)]
    return [*PLAIN, *TIME, *sorted(set(custom))]


def apply_filters(qs: QuerySet, where: dict[str, list[str]], date_field: str) -> QuerySet:
    """``where`` maps a dimension to accepted values (OR within a dimension, AND across dimensions).

    Time dimensions take labels (``quarter=2017-Q1``); the empty value matches records without a value.
    """
    for name, values in where.items():
        dim = get(name)
        cond = Q()
        for value in values:
            if value == "":
                cond |= Q(**{f"{date_field}__isnull": True}) if dim.is_time else _null(dim)
            elif dim.is_time:
                start, end = period_bounds(dim.name, value)
                cond |= Q(**{f"{date_field}__gte": start, f"{date_field}__lt": end})
            elif dim.custom_key is not None:
                cond |= custom_value_q(f"{dim.custom_prefix}custom__{dim.custom_key}", value)
            else:
                cond |= Q(**{str(dim.path): value})
        qs = qs.filter(cond)
    return qs


def _null(dim: Dimension) -> Q:
    if dim.custom_key is not None:
        return Q(**{f"{dim.custom_prefix}custom__{dim.custom_key}__isnull": True})
    return Q(**{f"{dim.path}__isnull": True}) | Q(**{str(dim.path): ""})


def custom_value_q(lookup: str, value: str) -> Q:
    """A custom field equal to ``value``: stored as text, or as the number the text spells."""
    return Q(**{lookup: value}) | Q(**{lookup: _json_value(value)})


def _json_value(value: str) -> Any:
    try:
        number = float(value)
    except ValueError:
        return value
    return int(number) if number.is_integer() else number


def period_bounds(kind: str, label: str) -> tuple[dt.date, dt.date]:
    """The first day of a time dimension's period and the first day after it, in the fiscal calendar:
    ``2017-Q1`` (a fiscal quarter; with calendar years 2017-01-01 to 2017-04-01), months ``2017-03``,
    fiscal years ``FY2017`` (and ``2017`` while fiscal years are calendar years)."""
    try:
        return fiscal.period_bounds(kind, label)
    except fiscal.PeriodError as exc:
        raise ReportError(str(exc)) from None
