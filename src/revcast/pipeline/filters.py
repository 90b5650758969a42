"""The opportunity filters shared by the web list, its drill-downs and the REST API.

Query parameters (all optional, combinable; a repeated parameter means OR):
``stage``, ``status`` (open|won|lost|closed), ``reached`` (deals that reached this stage or a later one),
``owner`` (username), ``team``, ``region``, ``product``, ``series``, ``account`` (name), ``industry``,
``forecast_category``, ``closed_from``/``closed_to``, ``created_from``/``created_to``,
``engaged_from``/``engaged_to``, ``expected_from``/``expected_to``, ``period`` (a label of the fiscal calendar:
2017-Q1, 2017-03, FY2017, applied to the close date), ``q`` (search), ``stale`` (1: no activity nor stage change for
REVCAST_STALE_DAYS days), ``custom.KEY`` (custom field value).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import django_filters as df
from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from revcast.core import fiscal
from revcast.pipeline.models import ForecastCategory, Opportunity, Stage
from revcast.pipeline.selectors import search_filter, with_last_touch
from revcast.reporting.dimensions import custom_value_q, period_bounds
from revcast.reporting.params import ReportError


class MultiValueCharFilter(df.MultipleChoiceFilter):
    """``?stage=A&stage=B`` means stage A or B; values are taken whole (a comma is part of a value)."""

    field_class = df.fields.MultipleChoiceField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("lookup_expr", "in")
        super().__init__(*args, **kwargs)

    @property
    def field(self) -> Any:
        field = super().field
        field.valid_value = lambda value: True  # any text: the choices are data, not a fixed list
        return field

    def filter(self, qs: QuerySet, value: Any) -> QuerySet:
        values = [v for v in (value or []) if v != ""]
        return qs.filter(**{f"{self.field_name}__in": values}) if values else qs



class OpportunityFilter(df.FilterSet):
    stage = MultiValueCharFilter(field_name="stage__name", lookup_expr="in")
    status = df.ChoiceFilter(
        method="filter_status",
        choices=[("open", "open"), ("won", "won"), ("lost", "lost"), ("closed", "closed")],
    )
    reached = df.CharFilter(method="filter_reached", help_text="Deals that reached this stage (or a later one).")
    owner = MultiValueCharFilter(field_name="owner__username", lookup_expr="in")
    team = MultiValueCharFilter(field_name="owner__team__name", lookup_expr="in")
    region = MultiValueCharFilter(field_name="owner__region__name", lookup_expr="in")
    product = MultiValueCharFilter(field_name="product__name", lookup_expr="in")
    series = MultiValueCharFilter(field_name="product__series", lookup_expr="in")
    account = MultiValueCharFilter(field_name="account__name", lookup_expr="in")
    industry = MultiValueCharFilter(field_name="account__industry", lookup_expr="in")
    forecast_category = df.MultipleChoiceFilter(choices=ForecastCategory.choices)
    closed_from = df.DateFilter(field_name="closed_on", lookup_expr="gte")
    closed_to = df.DateFilter(field_name="closed_on", lookup_expr="lte")
    created_from = df.DateFilter(field_name="created_on", lookup_expr="gte")
    created_to = df.DateFilter(field_name="created_on", lookup_expr="lte")
    engaged_from = df.DateFilter(field_name="engaged_on", lookup_expr="gte")
    engaged_to = df.DateFilter(field_name="engaged_on", lookup_expr="lte")
    expected_from = df.DateFilter(field_name="expected_close_on", lookup_expr="gte")
    expected_to = df.DateFilter(field_name="expected_close_on", lookup_expr="lte")
    period = df.CharFilter(method="filter_period", help_text="Close period label: a fiscal quarter 2017-Q1, a month 2017-03 or a fiscal year FY2017 (2017 while "
                  "fiscal years are calendar years).")
    q = df.CharFilter(method="filter_search", help_text="Search name, id, account, owner, product.")
    stale = df.CharFilter(
        method="filter_stale", help_text="1: open deals without activity or stage change for stale_days days."
    )
    stale_days = df.NumberFilter(
        method="filter_noop",
        min_value=0,
        max_value=36500,
        help_text="Days for `stale`, 0 to 36500 (default REVCAST_STALE_DAYS).",
    )

    class Meta:
        model = Opportunity
        fields: list[str] = []

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        queryset = super().filter_queryset(queryset)
        # custom.KEY=VALUE filters, for every active custom field on opportunities.
        for key, values in self.data.lists() if hasattr(self.data, "lists") else []:
            if key.startswith("custom.") and values:
                name = key.removeprefix("custom.")
                cond = Q()
                for value in values:
                    cond |= custom_value_q(f"custom__{name}", value)
                queryset = queryset.filter(cond)
        return queryset

    def filter_status(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        if value == "closed":
            return qs.exclude(stage__type=Stage.Type.OPEN)
        return qs.filter(stage__type=value) if value else qs

    def filter_reached(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        stage = Stage.objects.filter(name=value).first()
        if stage is None:
            return qs.none()
        if stage.type == Stage.Type.WON:
            return qs.filter(reached_stage__type=Stage.Type.WON)
        return qs.filter(reached_stage__order__gte=stage.order).exclude(reached_stage__type=Stage.Type.LOST)

    def filter_period(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        try:
            start, end = period_bounds(fiscal.kind_of(value), value)
        except ReportError:
            return qs.none()
        return qs.filter(closed_on__gte=start, closed_on__lt=end)

    def filter_search(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        return qs.filter(search_filter(value)) if value.strip() else qs

    def filter_noop(self, qs: QuerySet, name: str, value: Any) -> QuerySet:
        return qs

    def filter_stale(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        if str(value).strip().lower() not in ("1", "true", "yes", "on"):
            return qs
        days = self.form.cleaned_data.get("stale_days")
        days = int(days) if days is not None and days >= 0 else settings.REVCAST_STALE_DAYS
        cutoff = timezone.now() - dt.timedelta(days=days)
        return with_last_touch(qs.filter(stage__type=Stage.Type.OPEN)).filter(last_touch_at__lt=cutoff)

