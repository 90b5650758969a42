"""What every API view shares: JSON bodies, error-aware schema, stable ordering, refusing NUL characters."""

from __future__ import annotations

import datetime as dt
from typing import Any

import django_filters as df
from django import forms
from django.db.models import F, QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field
from rest_framework import exceptions, filters, viewsets
from rest_framework.parsers import JSONParser
from rest_framework.request import Request

from revcast.api import services
from revcast.api.schema import ApiAutoSchema
from revcast.core import visibility


def crud_summaries(
    one: str, many: str, *, delete: str = "", example: dict[str, Any] | None = None, **overrides: Any
) -> dict[str, Any]:
    """``extend_schema_view`` arguments: each action's one-line summary, and a request example for create."""
    summaries = {
        "list": f"List {many}",
        "create": f"Create {one}",
        "retrieve": f"Get {one}",
        "update": f"Replace {one}",
        "partial_update": f"Change {one}",
        "destroy": f"Delete {one}" + (f" ({delete})" if delete else ""),
    }
    examples = {"create": [OpenApiExample(f"Create {one}", value=example, request_only=True)]} if example else {}
    return {
        action: overrides.get(action) or extend_schema(summary=text, examples=examples.get(action))
        for action, text in summaries.items()
    }


class StableOrderingFilter(filters.OrderingFilter):
    """``?ordering=-amount``: empty values last on every database, ties broken by id (pages never repeat)."""

    def get_ordering(self, request: Request, queryset: QuerySet, view: Any) -> list[str] | None:
        ordering = super().get_ordering(request, queryset, view)
        if ordering and not any(f.lstrip("-") in ("id", "pk") for f in ordering):
            ordering = [*ordering, "-id" if ordering[-1].startswith("-") else "id"]
        return ordering

    def filter_queryset(self, request: Request, queryset: QuerySet, view: Any) -> QuerySet:
        ordering = self.get_ordering(request, queryset, view)
        if not ordering:
            return queryset
        return queryset.order_by(
            *(F(f[1:]).desc(nulls_last=True) if f.startswith("-") else F(f).asc(nulls_last=True) for f in ordering)
        )


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(df.NumberFilter):
    """A record id (an integer); ids of records the user may not see simply match nothing."""

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(*args, **kwargs)


class UtcDateTimeField(df.fields.IsoDateTimeField):
    """An ISO 8601 timestamp, as UTC: any offset Python reads works on every database (PostgreSQL refuses offsets
    beyond 15:59), and one that cannot be expressed in UTC (year 1 minus an offset) is invalid input."""

    def to_python(self, value: Any) -> dt.datetime | None:
        parsed = super().to_python(value)
        if parsed is None or parsed.tzinfo is None:
            return parsed
        try:
            return parsed.astimezone(dt.UTC)
        except OverflowError:
            raise forms.ValidationError(_("Date and time out of range."), code="invalid") from None


class UtcDateTimeFilter(df.IsoDateTimeFilter):
    field_class = UtcDateTimeField


class ApiViewMixin:
    """Base of the API views."""

    schema = ApiAutoSchema()
    parser_classes = [JSONParser]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        bad = sorted({k for k, values in request.query_params.lists() for v in [k, *values] if "\x00" in v})
        if bad:
            raise exceptions.ValidationError(
                {name.replace("\x00", "") or "query": [_("Null characters are not allowed.")] for name in bad}
            )


class SalesRecordViewSet(ApiViewMixin, viewsets.ModelViewSet):
    """A sales record scoped by core.visibility (``visibility_scope``) and written through services."""

    visibility_scope: str
    related: tuple[str, ...] = ()
    filter_backends = [df.rest_framework.DjangoFilterBackend, filters.SearchFilter, StableOrderingFilter]

    def get_queryset(self) -> QuerySet:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return self.queryset.none()
        qs = getattr(visibility, self.visibility_scope)(self.request.user)
        return qs.select_related(*self.related) if self.related else qs

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        try:
            return super().filter_queryset(queryset)
        except (ValueError, OverflowError) as exc:
            # A filter value beyond what dates and numbers can hold (period=9999, stale_days=10**12): bad input.
            raise exceptions.ValidationError(
                {"non_field_errors": [_("A filter value is out of range: %(reason)s.") % {"reason": exc}]}
            ) from None

    def perform_destroy(self, instance: Any) -> None:
        services.delete_record(instance)
