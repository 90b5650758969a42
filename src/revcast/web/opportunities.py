"""Opportunity pages: the list (filters, sort, pagination, totals), the detail (timeline, quick stage change,
quick activity), create and edit.

Thin views: reads go through ``core.visibility`` and the selectors, writes through ``pipeline.services`` and
``activities.services``. Another user's deal is a 404; a deal the user sees but may not change is a 403.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, F, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, Lower, NullIf
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django.views.decorators.http import require_http_methods, require_POST
from django_filters.filters import BaseCSVFilter

from revcast.activities import selectors as activity_selectors
from revcast.activities import services as activity_services
from revcast.activities.forms import QUICK_TYPES, QuickActivityForm, quick_type_choices
from revcast.activities.models import Activity
from revcast.core import permissions, visibility
from revcast.core.models import CustomField, PicklistValue
from revcast.pipeline import selectors, services
from revcast.pipeline.filters import OpportunityFilter
from revcast.pipeline.forms import (
    OpportunityFilterForm,
    OpportunityForm,
    custom_field_label,
    custom_value_rows,
    exit_criteria_message,
    field_label,
    field_message,
    picklist_label,
)
from revcast.pipeline.models import Opportunity, Stage
from revcast.web import forecast_data
from revcast.web.templatetags.revcast_i18n import value_labels

PAGE_SIZE = 50
RESULTS_ID = "opportunity-results"
MAIN_ID = "opportunity-main"

# sort parameter -> field; "-" in front sorts descending. Empty values always sort last.
SORTS = {
    "name": "name",
    "amount": "amount",
    "closed_on": "closed_on",
    "expected_close_on": "expected_close_on",
    "created_on": "created_on",
    "stage": "stage__order",
    "owner": "owner__username",
    "account": "account__name",
}
DEFAULT_SORT = "-id"

# Table columns: (key, label, sort key or None, css classes). rc-hide-xs columns are hidden on a phone.
COLUMNS = (
    ("name", _("Opportunity"), "name", ""),
    ("account", _("Account"), "account", "rc-hide-xs"),
    ("product", _("Product"), None, "rc-hide-xs"),
    ("owner", _("Owner"), "owner", "rc-hide-xs"),
    ("stage", _("Stage"), "stage", ""),
    ("amount", _("Amount"), "amount", "rc-table-num"),
    ("expected_close_on", _("Expected close"), "expected_close_on", "rc-hide-xs"),
    ("closed_on", pgettext_lazy("date column", "Closed"), "closed_on", "rc-hide-xs"),
    ("created_on", pgettext_lazy("date column", "Created"), "created_on", "rc-hide-xs"),
)

# Labels of filter parameters that the filter form shows as removable chips.
PARAM_LABELS = {
    "stage": _("Stage"),
    "status": _("Status"),
    "reached": _("Reached stage"),
    "owner": _("Owner"),
    "team": _("Team"),
    "region": _("Region"),
    "product": _("Product"),
    "series": _("Series"),
    "account": _("Account"),
    "industry": _("Industry"),
    "forecast_category": _("Forecast category"),
    "closed_from": _("Closed from"),
    "closed_to": _("Closed to"),
    "created_from": _("Created from"),
    "created_to": _("Created to"),
    "engaged_from": _("Engaged from"),
    "engaged_to": _("Engaged to"),
    "expected_from": _("Expected close from"),
    "expected_to": _("Expected close to"),
    "period": _("Close period"),
    "q": _("Search"),
    "stale": _("Stale deals"),
    "stale_days": _("Stale after (days)"),
}


# ---------------------------------------------------------------------- helpers


def htmx_target(request: HttpRequest) -> str | None:
    """The id of the element an htmx request will swap (None for ordinary requests and history restores)."""
    htmx = getattr(request, "htmx", None)
    if not htmx or htmx.history_restore_request:
        return None
    return htmx.target


def visible_opportunity(user: Any, pk: int) -> Opportunity:
    try:
        return selectors.opportunity_detail(user, pk)
    except Opportunity.DoesNotExist:
        raise Http404 from None


def editable_opportunity(user: Any, pk: int) -> Opportunity:
    """The deal if the user may change it: 404 when invisible, 403 when visible but read-only."""
    opp = visible_opportunity(user, pk)
    if not permissions.can_edit_owned(user, opp.owner_id):
        raise PermissionDenied
    return opp


def sort_queryset(qs: QuerySet, sort: str) -> tuple[QuerySet, str]:
    key = sort.lstrip("-")
    if key not in SORTS:
        return qs.order_by("-id"), DEFAULT_SORT
    descending = sort.startswith("-")
    expr: Any = F(SORTS[key])
    if key == "name":  # the name shown: the deal's name, else its external id
        expr = Lower(Coalesce(NullIf("name", Value("")), "external_id"))
    elif key == "account":
        expr = Lower("account__name")
    first = expr.desc(nulls_last=True) if descending else expr.asc(nulls_last=True)
    return qs.order_by(first, "-id" if descending else "id"), sort


@dataclass
class Totals:
    count: int
    amounts: list[tuple[str, Decimal]]  # (currency, sum), one per currency in the set


def totals(qs: QuerySet) -> Totals:
    """Count and amount of a filtered set in one query; amounts are summed per currency, never mixed."""
    rows = list(qs.order_by().values("currency").annotate(n=Count("pk"), total=Sum("amount")).order_by("currency"))
    amounts = [(r["currency"], r["total"] or Decimal("0")) for r in rows]
    return Totals(count=sum(r["n"] for r in rows), amounts=amounts or [(settings.REVCAST_DEFAULT_CURRENCY, Decimal(0))])


TRUE_VALUES = ("1", "true", "yes", "on")
MAX_STALE_DAYS = 3650


def _filter_parameters(params: QueryDict) -> tuple[QueryDict, int | None]:
    """The parameters for OpportunityFilter, and the stale threshold in days when ``stale`` is on.

    - A repeated multi-value parameter (``?stage=A&stage=B``, as drill-down links write OR) is joined into
      the comma form (``stage=A,B``), which the filter's CSV widgets read as one list.
    - ``stale=1`` (open deals with neither an activity nor a stage change for ``stale_days`` days, default
      REVCAST_STALE_DAYS, as on the dashboard) is applied by the view, so every true spelling works.
    """
    data = params.copy()
    for name, flt in OpportunityFilter.base_filters.items():
        values = [v for v in params.getlist(name) if v != ""]
        if isinstance(flt, BaseCSVFilter) and len(values) > 1:
            data.setlist(name, [",".join(values)])
    if params.get("stale", "").strip().lower() not in TRUE_VALUES:
        return data, None
    del data["stale"]
    days = settings.REVCAST_STALE_DAYS
    text = params.get("stale_days", "").strip()
    if text.isdigit() and 1 <= int(text) <= MAX_STALE_DAYS:
        days = int(text)
    return data, days


def opportunity_listing(request: HttpRequest, qs: QuerySet, *, hide_account: bool = False) -> dict[str, Any]:
    """Context of the results partial: ``qs`` filtered by the request's OpportunityFilter parameters, totals,
    one sorted page and the column headers. Shared by the list and the account page (``hide_account``)."""
    data, stale_days = _filter_parameters(request.GET)
    if stale_days is not None:
        cutoff = timezone.now() - dt.timedelta(days=stale_days)
        qs = selectors.with_last_touch(qs.filter(stage__type=Stage.Type.OPEN)).filter(last_touch_at__lt=cutoff)
    filterset = OpportunityFilter(data, queryset=qs)
    filtered = filterset.qs
    total = totals(filtered)
    ordered, sort = sort_queryset(filtered, request.GET.get("sort", ""))
    paginator = Paginator(ordered.select_related("owner", "account", "product", "stage"), PAGE_SIZE)
    paginator.count = total.count  # already counted by the totals query
    page = paginator.get_page(request.GET.get("page"))
    columns = []
    for key, label, sort_key, css in COLUMNS:
        if hide_account and key == "account":
            continue
        state = None
        if sort_key and sort.lstrip("-") == sort_key:
            state = "descending" if sort.startswith("-") else "ascending"
        next_sort = None
        if sort_key:
            next_sort = sort_key if state == "descending" else ("-" + sort_key if state else sort_key)
            if state is None and sort_key in ("amount", "closed_on", "expected_close_on", "created_on"):
                next_sort = "-" + sort_key  # numbers and dates: biggest / latest first
        columns.append({"key": key, "label": label, "css": css, "next": next_sort, "state": state})
    return {
        "results_id": RESULTS_ID,
        "page_obj": page,
        "paginator": paginator,
        "page_range": paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1),
        "totals": total,
        "sort": sort,
        "columns": columns,
        "filter_errors": filterset.form.errors,
        "default_currency": settings.REVCAST_DEFAULT_CURRENCY,
        "hide_account": hide_account,
    }


def _filter_controls(request: HttpRequest) -> tuple[OpportunityFilterForm, list[dict[str, Any]]]:
    """The filter form (showing single-valued parameters) and the other parameters as removable chips."""
    form = OpportunityFilterForm(user=request.user)
    initial: dict[str, str] = {}
    chips: list[dict[str, Any]] = []
    shown: dict[str, dict[Any, str]] = {}  # parameter -> {stored value: label shown}, read when needed
    for key, values in request.GET.lists():
        if key in ("page", "sort"):
            continue
        values = [v for v in values if v != ""]
        if not values:
            continue
        if form.accepts(key, values):
            initial[key] = values[0]
            continue
        if key not in shown:
            shown[key] = value_labels("stage" if key == "reached" else key)
        for value in values:
            rest = QueryDict(mutable=True)
            for k, vs in request.GET.lists():
                if k != "page":
                    rest.setlist(k, [v for v in vs if not (k == key and v == value)])
            chips.append(
                {
                    "name": key,
                    "value": value,
                    "shown": shown[key].get(value, value),
                    "label": PARAM_LABELS.get(key, key.removeprefix("custom.")),
                    "remove_url": "?" + rest.urlencode(),
                }
            )
    form.initial = initial
    return form, chips


def render_list(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    """Render a page, or only its results partial for an htmx request aimed at the results."""
    if htmx_target(request) == RESULTS_ID:
        template = "web/opportunities/_results.html"
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


# ---------------------------------------------------------------------- list


@login_required
def opportunity_list(request: HttpRequest) -> HttpResponse:
    context = opportunity_listing(request, visibility.opportunities(request.user))
    form, chips = _filter_controls(request)
    context.update(
        filter_form=form,
        filter_sort=request.GET.get("sort", ""),
        filter_chips=chips,
        has_filters=bool(form.initial or chips),
        can_create=permissions.can_write(request.user),
    )
    return render_list(request, "web/opportunities/list.html", context)


# ---------------------------------------------------------------------- detail


def _custom_values(opp: Opportunity) -> list[tuple[str, Any]]:
    return custom_value_rows("opportunity", opp.custom)


def _loss_reason_label(code: str) -> str:
    if not code:
        return ""
    value = PicklistValue.objects.filter(picklist__key="loss_reason", value=code).first()
    return picklist_label(value) if value else code


def detail_context(
    request: HttpRequest,
    opp: Opportunity,
    *,
    stage_errors: list[str] | None = None,
    stale: bool = False,
    activity_form: QuickActivityForm | None = None,
    notice: str = "",
) -> dict[str, Any]:
    user = request.user
    can_edit = permissions.can_edit_owned(user, opp.owner_id)
    if activity_form is None and can_edit:
        log_type = request.GET.get("log", "")
        if log_type in QUICK_TYPES:
            activity_form = QuickActivityForm(initial={"type": log_type})
    return {
        "opp": opp,
        "main_id": MAIN_ID,
        "can_edit": can_edit,
        "stages": list(Stage.objects.filter(active=True).order_by("order")),
        "custom_values": _custom_values(opp),
        "loss_reason_label": _loss_reason_label(opp.loss_reason),
        "timeline": activity_selectors.opportunity_timeline(user, opp),
        "quick_types": quick_type_choices(),
        "activity_form": activity_form,
        "stage_errors": stage_errors or [],
        "stale": stale,
        "notice": notice,
        "win_score": forecast_data.deal_score(user, opp),
        "labels": {name: field_label(name) for name in (
            "name", "external_id", "owner", "account", "product", "amount", "currency", "created_on",
            "engaged_on", "expected_close_on", "closed_on", "stage", "reached_stage", "probability",
            "forecast_category", "loss_reason", "version",
        )},
    }


def _render_detail(request: HttpRequest, opp: Opportunity, status: int = 200, **extra: Any) -> HttpResponse:
    """The detail page, or only its main part for htmx requests (quick stage change, quick activity)."""
    context = detail_context(request, opp, **extra)
    if htmx_target(request) == MAIN_ID:
        return render(request, "web/opportunities/_main.html", context)  # htmx swaps 200 responses only
    return render(request, "web/opportunities/detail.html", context, status=status)


@login_required
def opportunity_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_detail(request, visible_opportunity(request.user, pk))


def _stage_errors(opp: Opportunity, exc: ValidationError) -> list[str]:
    """Exit-criteria errors as "Field: Required to leave stage X." (translated); other errors as they are."""
    missing = services.missing_exit_fields(opp, opp.stage)
    if missing:
        messages_ = []
        custom = {d.key: custom_field_label(d) for d in CustomField.objects.filter(object="opportunity")}
        for name in missing:
            if name.startswith("custom."):
                key = name.removeprefix("custom.")
                label = custom.get(key, key)
            else:
                label = field_label(name)
            messages_.append(field_message(label, exit_criteria_message(opp.stage)))
        return messages_
    return list(exc.messages)


@login_required
@require_POST
def opportunity_stage(request: HttpRequest, pk: int) -> HttpResponse:
    """Quick stage change (htmx POST; a plain POST works too and redirects back)."""
    opp = editable_opportunity(request.user, pk)
    try:
        version = int(request.POST.get("version", ""))
    except ValueError:
        return HttpResponseBadRequest(_("The form did not say which version of the opportunity it changes."))
    stage = Stage.objects.filter(active=True, pk=request.POST.get("stage") or 0).first()
    if stage is None:
        return _render_detail(request, opp, status=400, stage_errors=[str(_("Choose a stage."))])
    if stage.pk == opp.stage_id and version == opp.version:
        return _render_detail(request, opp)  # already there: nothing to write
    try:
        updated = services.update_opportunity(
            opp, changed_by=request.user, source="ui", expected_version=version, stage=stage
        )
    except services.StaleVersion:
        fresh = visible_opportunity(request.user, pk)
        return _render_detail(request, fresh, status=409, stale=True)
    except ValidationError as exc:
        return _render_detail(request, opp, status=400, stage_errors=_stage_errors(opp, exc))
    notice = str(_("Stage changed to %(stage)s.") % {"stage": activity_selectors.stage_label(updated.stage)})
    if htmx_target(request) == MAIN_ID:
        return _render_detail(request, visible_opportunity(request.user, pk), notice=notice)
    messages.success(request, notice)
    return redirect("opportunity-detail", pk=pk)


@login_required
@require_http_methods(["GET", "POST"])
def opportunity_activity(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the quick activity form for one type (htmx); POST: log the activity on the deal."""
    opp = editable_opportunity(request.user, pk)
    if request.method == "GET":
        log_type = request.GET.get("type", "")
        if log_type not in Activity.Type.values:
            log_type = str(Activity.Type.CALL)
        if htmx_target(request) is None:
            return redirect(reverse("opportunity-detail", args=[pk]) + "?" + urlencode({"log": log_type}) + "#quick-log")
        form = QuickActivityForm(initial={"type": log_type})
        return render(request, "web/opportunities/_activity_form.html", {"opp": opp, "activity_form": form})
    form = QuickActivityForm(request.POST)
    if not form.is_valid():
        return _render_detail(request, opp, status=400, activity_form=form)
    try:
        activity = activity_services.log_activity(owner=request.user, opportunity=opp, **form.service_values())
    except ValidationError as exc:
        for message in exc.messages:
            form.add_error(None, message)
        return _render_detail(request, opp, status=400, activity_form=form)
    notice = str(_("%(type)s logged.") % {"type": activity.get_type_display()})
    if htmx_target(request) == MAIN_ID:
        return _render_detail(request, opp, notice=notice)
    messages.success(request, notice)
    return redirect("opportunity-detail", pk=pk)


# ---------------------------------------------------------------------- create and edit


STALE_FORM_MESSAGE = _(
    "Someone else changed this opportunity after you opened this form, so your changes were not saved. "
    "Reload the page to see the current values, then make your changes again."
)


def _form_context(form: OpportunityForm, opp: Opportunity | None, *, stale: bool = False) -> dict[str, Any]:
    return {
        "form": form,
        "opp": opp,
        "stale": stale,
        "stage_probabilities": {str(s.pk): s.probability for s in form.stages},
    }


@login_required
@require_http_methods(["GET", "POST"])
def opportunity_create(request: HttpRequest) -> HttpResponse:
    if not permissions.can_write(request.user):
        raise PermissionDenied
    form = OpportunityForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            opp = services.create_opportunity(changed_by=request.user, source="ui", **form.create_values())
        except ValidationError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("Opportunity created."))
            return redirect("opportunity-detail", pk=opp.pk)
    return render(request, "web/opportunities/form.html", _form_context(form, None))


@login_required
@require_http_methods(["GET", "POST"])
def opportunity_edit(request: HttpRequest, pk: int) -> HttpResponse:
    opp = editable_opportunity(request.user, pk)
    form = OpportunityForm(request.POST or None, user=request.user, instance=opp)
    form.fields["version"].required = True
    stale = False
    if request.method == "POST" and form.is_valid():
        changes = form.update_changes()
        if not form.changes_anything(changes) and form.cleaned_data["version"] == opp.version:
            messages.info(request, _("Nothing to save: no field was changed."))
            return redirect("opportunity-detail", pk=opp.pk)
        try:
            services.update_opportunity(
                opp,
                changed_by=request.user,
                source="ui",
                expected_version=form.cleaned_data["version"],
                **changes,
            )
        except services.StaleVersion:
            stale = True
            form.add_error(None, STALE_FORM_MESSAGE)
        except ValidationError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("Opportunity saved."))
            return redirect("opportunity-detail", pk=opp.pk)
    return render(
        request, "web/opportunities/form.html", _form_context(form, opp, stale=stale), status=409 if stale else 200
    )
