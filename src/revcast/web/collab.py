"""The collaborative forecast pages: ``/forecast/call/`` (a roll-up node: figures, direct reports, deals, the
submit and adjust forms) with its two POST endpoints, and ``/forecast/accuracy/`` (closed periods).

Thin views over ``forecasting.collab``: the roll-up, the services (every rule of who may submit or adjust what)
and the accuracy selectors, read through ``core.visibility``. Query parameters of the call page: ``period``
(2017-Q4, 2017-11, FY2017; default the fiscal quarter of the newest forecast run, else the current one) and
``user`` (a username the viewer may see; default the viewer, or the company for those who see everything).

A user outside the viewer's view is a 404, never a hint; posting a form one may not use is a 403; a service's
``CollabError`` shows the page again (400) with the message on its field and the input kept; a success is a
message and a redirect (PRG).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from revcast.core import visibility
from revcast.core.fiscal import PeriodRef
from revcast.forecasting.collab import services
from revcast.forecasting.collab.rollup import RollupError, build_view
from revcast.reporting.params import ReportError, ReportParams
from revcast.reporting.registry import REPORTS, run_report
from revcast.web import charts, collab_data
from revcast.web.collab_context import accuracy_context, call_context, call_url, resolve_period
from revcast.web.collab_forms import AdjustForm, SubmitForm
from revcast.web.reports import EXPORT_TYPES, download

CALL_TEMPLATE = "web/collab/call.html"
# The downloads of the pages: the collaborative forecast's reports (reporting.runners.forecast_calls).
EXPORTS = {"rollup": "forecast-rollup", "submissions": "forecast-submissions", "accuracy": "forecast-accuracy"}


def _visible_user(viewer: Any, username: str) -> Any:
    try:
        return collab_data.visible_user(viewer, username)
    except LookupError:
        raise Http404 from None


def _page_target(viewer: Any, username: str) -> Any:
    """The person whose node a page shows: ``username`` (404 outside the view), else the viewer, or the company
    (None) for those who see everything."""
    username = username.strip()
    if username:
        return _visible_user(viewer, username)
    return None if visibility.sees_everything(viewer) else viewer


# ---------------------------------------------------------------- /forecast/call/


@login_required
@require_GET
def call_page(request: HttpRequest) -> HttpResponse:
    target = _page_target(request.user, request.GET.get("user") or "")
    period, errors = resolve_period(request.GET.get("period"), collab_data.default_period())
    try:
        context = call_context(request.user, period, target, errors=errors)
    except RollupError:  # a user outside the hierarchy the roll-up walks (inactive, say)
        raise Http404 from None
    return render(request, CALL_TEMPLATE, context)


def _posted_period(form: Any) -> tuple[PeriodRef, list[str]]:
    return resolve_period(form.data.get("period"), collab_data.default_period())


def _show_error(form: Any, errors: list[str], exc: services.CollabError) -> None:
    """A service's message on its field; about the period (closed, say), above the page."""
    if exc.field == "period":
        errors.append(str(exc))
    else:
        form.service_error(exc.field, str(exc))


@login_required
@require_POST
def call_submit(request: HttpRequest) -> HttpResponse:
    """The viewer's own call for a period (anyone active submits for themselves, and only for themselves)."""
    form = SubmitForm(request.POST)
    period, errors = _posted_period(form)
    if form.is_valid() and not errors:
        try:
            sub = services.submit(request.user, period.label, **form.service_values())
        except services.NotAllowed as exc:
            raise PermissionDenied(str(exc)) from None
        except services.CollabError as exc:
            _show_error(form, errors, exc)
        else:
            messages.success(request, _("Your forecast for %(period)s is submitted: commit %(commit)s, best case "
                                        "%(best)s.") % {"period": sub.period, "commit": f"{sub.commit:,.0f}",
                                                        "best": f"{sub.best_case:,.0f}"})
            return redirect(call_url(sub.period, request.user.username))
    context = call_context(request.user, period, request.user, errors=errors, submit_form=form)
    return render(request, CALL_TEMPLATE, context, status=400)


@login_required
@require_POST
def call_adjust(request: HttpRequest) -> HttpResponse:
    """A manager's adjustment of someone below them, or of their own roll-up (services.may_adjust)."""
    viewer = request.user
    username = (request.POST.get("user") or "").strip()
    target = _visible_user(viewer, username) if username else None
    if target is None:
        raise Http404
    if not services.may_adjust(viewer, target):
        raise PermissionDenied(_("You may not adjust this forecast."))
    form = AdjustForm(request.POST, target=target.username)
    period, errors = _posted_period(form)
    if form.is_valid() and not errors:
        try:
            services.adjust(viewer, target, period.label, **form.service_values())
        except LookupError:
            raise Http404 from None
        except services.NotAllowed as exc:
            raise PermissionDenied(str(exc)) from None
        except services.CollabError as exc:
            _show_error(form, errors, exc)
        else:
            messages.success(request, _("Forecast of %(user)s for %(period)s adjusted.")
                             % {"user": target.full_name, "period": period.label})
            return redirect(call_url(period.label, _return_page(viewer, form, target)))
    page_user = _page_target(viewer, form.data.get("page") or "")
    view = build_view(viewer, period)  # read once for both pages below
    try:
        context = call_context(viewer, period, page_user, errors=errors, adjust_form=(target.username, form), view=view)
        if not _shows(context, form):  # posted from elsewhere: the adjusted person's own page has the form
            context = call_context(viewer, period, target, errors=errors, adjust_form=(target.username, form),
                                   view=view)
    except RollupError:
        raise Http404 from None
    return render(request, CALL_TEMPLATE, context, status=400)


def _shows(context: dict[str, Any], form: AdjustForm) -> bool:
    return context["node_form"] is form or any(row["form"] is form for row in context["children"])


def _return_page(viewer: Any, form: AdjustForm, target: Any) -> str | None:
    """The page the form was on (a username the viewer may see), else the adjusted person's page."""
    page = (form.data.get("page") or "").strip()
    if not page:
        return None if visibility.sees_everything(viewer) else viewer.username
    try:
        return str(collab_data.visible_user(viewer, page).username)
    except LookupError:
        return str(target.username)


# ---------------------------------------------------------------- /forecast/accuracy/


@login_required
@require_GET
def accuracy_page(request: HttpRequest) -> HttpResponse:
    return render(request, "web/collab/accuracy.html", accuracy_context(request.user, request.GET.get("period")))


# ---------------------------------------------------------------- downloads


@login_required
@require_GET
def export_report(request: HttpRequest, what: str, fmt: str) -> HttpResponse:
    """``/forecast/export/<rollup|submissions|accuracy>/<csv|xlsx>/?period=…``: the report as the viewer may see
    it (the runner reads through ``forecasting.collab``, i.e. ``core.visibility``); the query's options only."""
    name = EXPORTS.get(what)
    if name is None or fmt not in EXPORT_TYPES:
        raise Http404
    runner = REPORTS[name]
    options = {key: request.GET[key].strip() for key in (*runner.free_options, *runner.options)
               if request.GET.get(key, "").strip()}
    try:
        result = run_report(name, ReportParams(user=request.user, options=options))
    except ReportError as exc:
        return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")
    period = str(result.meta.get("period") or "all")
    return download(result, fmt, f"revcast-{name}-{period}", [charts.label(c.label) for c in result.columns])
