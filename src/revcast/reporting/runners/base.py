"""What every report runner shares: the visible, filtered queryset and grouped aggregation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from revcast.core import visibility
from revcast.pipeline.models import Stage
from revcast.reporting import dimensions
from revcast.reporting.dimensions import Dimension
from revcast.reporting.params import ReportError, ReportParams
from revcast.reporting.result import Column, ReportResult


class ReportRunner:
    """One report. Subclasses set ``name``/``title``/``date_field`` and implement ``compute``."""

    name: ClassVar[str]
    title: ClassVar[str]
    description: ClassVar[str] = ""
    date_field: ClassVar[str]
    date_label: ClassVar[str] = ""
    default_by: ClassVar[Sequence[str]] = ()
    options: ClassVar[dict[str, Sequence[str]]] = {}
    free_options: ClassVar[dict[str, str]] = {}  # options taking any text (checked by the report): name -> help

    def __init__(self, params: ReportParams) -> None:
        self.params = params
        for key, value in params.options.items():
            if key in self.free_options:
                continue
            if key not in self.options:
                known = sorted([*self.options, *self.free_options])
                raise ReportError(f"report {self.name!r} has no option {key!r}; options: {known or 'none'}")
            if value not in self.options[key]:
                raise ReportError(f"option {key}={value!r}: expected one of {list(self.options[key])}")
        self.by: list[Dimension] = [dimensions.get(name) for name in (params.by or list(self.default_by))]
        names = [d.name for d in self.by]
        if len(set(names)) != len(names):
            raise ReportError(f"a dimension is repeated in --by {names}")

    def option(self, key: str) -> str:
        return self.params.options.get(key, self.options[key][0])

    def free(self, key: str) -> str:
        """A free-text option's value ('' when not given)."""
        return self.params.options.get(key, "").strip()

    @property
    def period_field(self) -> str:
        return self.date_field

    # ------------------------------------------------------------------ building blocks

    def base_queryset(self) -> QuerySet:
        """Opportunities this user may see, filtered by --where and by the period on the report's date."""
        qs = visibility.opportunities(self.params.user)
        qs = dimensions.apply_filters(qs, self.params.where, self.period_field)
        if self.params.date_from:
            qs = qs.filter(**{f"{self.period_field}__gte": self.params.date_from})
        if self.params.date_to:
            qs = qs.filter(**{f"{self.period_field}__lte": self.params.date_to})
        return qs

    def group_annotations(self) -> dict[str, Any]:
        return {f"dim_{i}": d.expression(self.period_field) for i, d in enumerate(self.by)}

    def grouped(self, qs: QuerySet, **aggregates: Any) -> list[dict[str, Any]]:
        """Aggregate ``qs`` per group of the --by dimensions (one row overall when there are none), in order."""
        if not self.by:
            row = qs.aggregate(**aggregates)
            return [row] if any(v for v in row.values()) else []
        groups = qs.values(**self.group_annotations()).annotate(**aggregates).order_by()
        if any(d.is_time for d in self.by):
            groups = self._merge_by_label(groups, list(aggregates))
        return sorted(groups, key=lambda g: self.sort_key(self.group_key(g)))

    def _merge_by_label(self, groups: Any, measures: list[str]) -> list[dict[str, Any]]:
        """Add up the per-day rows of a time dimension into its month/quarter/year (additive measures)."""
        merged: dict[tuple[Any, ...], dict[str, Any]] = {}
        for row in groups:
            key = self.group_key(row)
            into = merged.get(key)
            if into is None:
                merged[key] = dict(row)
                continue
            for m in measures:
                if row[m] is not None:
                    into[m] = row[m] if into[m] is None else into[m] + row[m]
        return list(merged.values())

    def group_key(self, row: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(d.label_value(row[f"dim_{i}"]) for i, d in enumerate(self.by))

    def dimension_columns(self) -> list[Column]:
        return [Column(d.name, "string", d.label) for d in self.by]

    def sort_key(self, key: tuple[Any, ...]) -> tuple[Any, ...]:
        stage_order = self._stage_order()
        parts: list[Any] = []
        for d, value in zip(self.by, key, strict=True):
            if d.name == "stage":
                parts.append((value is None, stage_order.get(value, 10**6), ""))
            else:
                parts.append((value is None, 0, "" if value is None else str(value)))
        return tuple(parts)

    def _stage_order(self) -> dict[str, int]:
        if not hasattr(self, "_stage_order_cache"):
            self._stage_order_cache = dict(Stage.objects.values_list("name", "order"))
        return self._stage_order_cache

    def meta(self, **extra: Any) -> dict[str, Any]:
        user = self.params.user
        currencies = sorted(c for c in self.base_queryset().order_by().values_list("currency", flat=True).distinct() if c)
        if len(currencies) > 1:
            # No exchange rates yet: amounts in different currencies would be added up. Say so plainly.
            extra.setdefault("warnings", []).append(
                f"amounts in several currencies ({', '.join(currencies)}) are summed without conversion; "
                "filter with --where currency=CODE or group --by currency"
            )
        return {
            "report": self.name,
            "title": self.title,
            "by": [d.name for d in self.by],
            "date_field": self.period_field,
            "from": self.params.date_from,
            "to": self.params.date_to,
            "where": self.params.where,
            "options": {k: self.option(k) for k in self.options},
            "currency": currencies[0] if len(currencies) == 1 else settings.REVCAST_DEFAULT_CURRENCY,
            "currencies": currencies,
            "as_user": getattr(user, "username", None),
            "generated_at": timezone.now(),
            **extra,
        }

    def run(self) -> ReportResult:
        return self.compute()

    def compute(self) -> ReportResult:  # pragma: no cover - abstract
        raise NotImplementedError


def ratio(numerator: int | float, denominator: int | float) -> float | None:
    return None if not denominator else numerator / denominator
