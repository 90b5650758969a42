"""What the collaborative forecast pages show, as template context: the call page of a roll-up node (its figures,
the derived gap, coverage and attainment, its direct reports with their adjustments and forms, the deals behind
it, the viewer's own submissions) and the accuracy page of a closed period.

The numbers are the roll-up's (``forecasting.collab.rollup``) as the viewer sees them; who may adjust whom is
``forecasting.collab.services.may_adjust``; the accuracy is ``forecasting.collab.accuracy``. Nothing here writes.
Amounts are shown in whole currency units like the other forecast pages (``forecast_charts.money``); every shown
figure also carries its exact value (``data-value``) for tests and scripts.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from statistics import fmean
from typing import Any

from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from revcast.core import visibility
from revcast.core.fiscal import PeriodRef
from revcast.forecasting.collab import accuracy, services
from revcast.forecasting.collab import selectors as collab_selectors
from revcast.forecasting.collab.rollup import RollupError, View, build_view, period_ref, rollup
from revcast.forecasting.collab.tree import Tree
from revcast.forecasting.models import ForecastAccuracy, PeriodClose
from revcast.web import collab_charts, collab_data
from revcast.web.charts import exact
from revcast.web.collab_forms import AdjustForm, SubmitForm
from revcast.web.forecast_charts import money, percent

METRIC_LABELS = {"commit": gettext_lazy("Commit"), "best_case": gettext_lazy("Best case")}
KPI_LABELS = {
    "quota": gettext_lazy("Quota"), "closed": gettext_lazy("Closed"), "commit": gettext_lazy("Commit"),
    "best_case": gettext_lazy("Best case"), "pipeline": gettext_lazy("Pipeline"),
    "weighted": gettext_lazy("Weighted pipeline"), "gap": gettext_lazy("Gap to quota"),
    "coverage": gettext_lazy("Coverage"), "attainment": gettext_lazy("Attainment"),
}
CATEGORY_LABELS = {"commit": gettext_lazy("Commit"), "best_case": gettext_lazy("Best case"),
                   "pipeline": gettext_lazy("Pipeline")}


def plain(value: Any) -> str:
    """An amount as a form shows it: ``1234.5`` rather than ``1,234.50``."""
    text = exact(value)
    return text[:-3] if text.endswith(".00") else text


def call_url(period: str, username: str | None = None) -> str:
    params = {"period": period}
    if username:
        params["user"] = username
    return reverse("forecast-call") + "?" + urlencode(params)


def export_url(what: str, fmt: str, **params: str) -> str:
    query = urlencode({k: v for k, v in params.items() if v})
    return reverse("forecast-export", args=[what, fmt]) + (f"?{query}" if query else "")


def resolve_period(text: str | None, default: str) -> tuple[PeriodRef, list[str]]:
    """The period asked for, else the default (with the reason shown when the asked one cannot be read)."""
    text = (text or "").strip()
    if text:
        try:
            return period_ref(text), []
        except RollupError:
            return period_ref(default), [_("Unknown period %(period)s: use a quarter (2017-Q4), a month (2017-11) "
                                           "or a fiscal year (FY2017).") % {"period": text}]
    return period_ref(default), []


# ---------------------------------------------------------------- the call page


def _figure(key: str, value: Any, text: str | None = None, note: str = "") -> dict[str, Any]:
    return {"key": key, "label": KPI_LABELS[key], "value": exact(value) if isinstance(value, Decimal) else "",
            "text": text if text is not None else money(value), "note": note}


def node_kpis(node: dict[str, Any]) -> list[dict[str, Any]]:
    """The node's figures, and gap to quota (quota − commit), coverage (pipeline ÷ what is left of the quota, when
    something is left) and attainment (closed ÷ quota)."""
    quota, closed, commit, pipeline = node["quota"], node["closed"], node["commit"], node["pipeline"]
    gap = quota - commit if quota is not None else None
    left = quota - closed if quota is not None else None
    coverage = pipeline / left if left is not None and left > 0 else None
    attainment = closed / quota if quota else None
    adjusted = node.get("adjusted") or {}
    if node["children"]:
        commit_note = best_note = _("roll-up of the calls below")
    elif node["submitted"]:
        commit_note = best_note = _("as submitted")
    else:
        commit_note, best_note = _("closed + commit deals"), _("commit + best-case deals")
    if "commit" in adjusted:
        commit_note = _("adjusted (was %(value)s)") % {"value": money(adjusted["commit"]["from"])}
    if "best_case" in adjusted:
        best_note = _("adjusted (was %(value)s)") % {"value": money(adjusted["best_case"]["from"])}
    members = node.get("quota_members")
    quota_note = (_("members' quotas add up to %(sum)s") % {"sum": money(members)}
                  if members is not None and quota is not None and members != quota else "")
    return [
        _figure("quota", quota, note=quota_note if quota is not None else _("no quota set for this period")),
        _figure("closed", closed, note=_("won in the period")),
        _figure("commit", commit, note=commit_note),
        _figure("best_case", node["best_case"], note=best_note),
        _figure("pipeline", pipeline, note=_("as submitted") if node["submitted"] and not node["children"]
                else _("open deals of the period")),
        _figure("weighted", node["weighted"].quantize(Decimal("0.01")), note=_("open deals × probability")),
        _figure("gap", gap, text=money(gap) if gap is not None else "–", note=_("quota − commit")),
        {**_figure("coverage", None, text=f"{coverage:.2f}×" if coverage is not None else "–",
                   note=_("pipeline ÷ (quota − closed)")), "value": f"{coverage:.4f}" if coverage is not None else ""},
        {**_figure("attainment", None, text=percent(attainment), note=_("closed ÷ quota")),
         "value": f"{attainment:.4f}" if attainment is not None else ""},
    ]


def ai_range(node: dict[str, Any]) -> dict[str, Any] | None:
    ai = node.get("ai")
    if not ai:
        return None
    return {key: {"text": money(ai[key]), "value": exact(ai[key])} for key in ("p10", "p50", "p90", "expected")} | {
        "as_of": ai.get("as_of"), "run": ai.get("run")}


def adjustments(node: dict[str, Any]) -> list[dict[str, Any]]:
    """The adjustments applied to a node in this view, one per metric."""
    out = []
    for metric, adj in (node.get("adjusted") or {}).items():
        out.append({"metric": metric, "label": METRIC_LABELS.get(metric, metric), "value": money(adj["value"]),
                    "exact": exact(adj["value"]), "original": money(adj["from"]), "by": adj["by"],
                    "note": adj["note"], "at": adj["at"]})
    return out


def _row(node: dict[str, Any], period: str, *, url: bool = True) -> dict[str, Any]:
    ai = node.get("ai") or {}
    return {
        "user": node["user"], "name": node["name"], "role": node["role"],
        "url": call_url(period, node["user"]) if url and node["user"] else "",
        "cells": {key: {"text": money(node[key]), "value": exact(node[key])}
                  for key in ("commit", "best_case", "pipeline", "closed")},
        "quota": {"text": money(node["quota"]), "value": exact(node["quota"])},
        "ai_p50": {"text": money(ai.get("p50")), "value": exact(ai.get("p50"))},
        "submitted": bool(node["submitted"]),
        "not_submitted": bool(node["user"]) and node["user"] in node["missing"],
        "missing_below": len([m for m in node["missing"] if m != node["user"]]),
        "adjustments": adjustments(node),
        "form": None,
    }


def _own_row(node: dict[str, Any]) -> dict[str, Any] | None:
    """A manager's own call inside their roll-up (their own submission, or what their own deals say)."""
    own = node.get("own")
    if not node["children"] or own is None:
        return None
    if own["source"] != "submission" and not any(own[k] for k in ("commit", "best_case", "pipeline")):
        return None
    return {"cells": {key: {"text": money(own[key]), "value": exact(own[key])}
                      for key in ("commit", "best_case", "pipeline")}, "submitted": own["source"] == "submission"}


def _total_row(node: dict[str, Any], period: str) -> dict[str, Any] | None:
    """The sum of the table (own call and direct reports): the node before its own adjustment."""
    if not node["children"]:
        return None
    row = _row(node, period, url=False)
    for key in ("commit", "best_case"):
        row["cells"][key] = {"text": money(node["computed"][key]), "value": exact(node["computed"][key])}
    members = node.get("quota_members")
    row["quota_members"] = {"text": money(members) if members is not None else "", "value": exact(members)}
    return row


def _adjust_form(node: dict[str, Any], page: str, period: str, bound: tuple[str, AdjustForm] | None) -> AdjustForm:
    """The adjust form of a node (the bound one again when it was just posted), the current numbers as
    placeholders."""
    target = node["user"]
    if bound is not None and bound[0] == target:
        form = bound[1]
    else:
        form = AdjustForm(target=target, initial={"user": target, "page": page, "period": period})
    for key in ("commit", "best_case"):
        form.fields[key].widget.attrs["placeholder"] = plain(node[key])
    return form


def _breadcrumb(viewer: Any, tree: Tree, target: Any, period: str) -> list[dict[str, Any]]:
    crumbs = []
    if visibility.sees_everything(viewer):
        crumbs.append({"label": _("Company"), "url": call_url(period)})
    if target is not None:
        for pk in reversed(tree.ancestors(target.pk)):
            if tree.may_see(viewer, pk):
                user = tree.users[pk]
                crumbs.append({"label": user.full_name, "url": call_url(period, user.username)})
        crumbs.append({"label": target.full_name, "url": ""})
    return crumbs


def _prefill(node: dict[str, Any]) -> dict[str, str]:
    """The submit form starts from the person's own numbers in the roll-up: their latest call, else what their
    deals say (``services.prefill``)."""
    return {key: plain(node["own"][key]) for key in ("commit", "best_case", "pipeline")}


def call_context(viewer: Any, period: PeriodRef, target: Any, *, errors: list[str] | None = None,
                 submit_form: SubmitForm | None = None,
                 adjust_form: tuple[str, AdjustForm] | None = None, view: View | None = None) -> dict[str, Any]:
    """The call page of ``target``'s node (None: the company, for those who see everything). ``submit_form`` and
    ``adjust_form`` (target username, form) are bound forms shown again with their errors. ``view``: the viewer's
    roll-up view of the period, when the caller has built it already."""
    view = view or build_view(viewer, period)
    node = rollup(viewer, period.label, user=target, view=view)
    tree = view.tree
    by_name = {u.username: u for u in tree.users.values()}
    page = node["user"] or ""
    is_own = target is not None and target.pk == viewer.pk
    closed = collab_selectors.is_closed(period.label)  # its calls are measured: no more submissions or adjustments
    rows = []
    for child in node["children"]:
        row = _row(child, period.label)
        child_user = by_name.get(child["user"])
        if not closed and child_user is not None and services.may_adjust(viewer, child_user, tree):
            row["form"] = _adjust_form(child, page, period.label, adjust_form)
        rows.append(row)
    node_form = None
    if not closed and target is not None and services.may_adjust(viewer, target, tree):
        node_form = _adjust_form(node, page, period.label, adjust_form)
    history = collab_data.own_submissions(viewer, period.label) if is_own else []
    if closed:
        submit_form = None
    elif is_own and submit_form is None:
        submit_form = SubmitForm(initial={"period": period.label, **_prefill(node)})
    deals = collab_data.node_deals(viewer, node, period)
    said = deals.figures
    return {
        "errors": errors or [],
        "period": period,
        "last_day": period.end - dt.timedelta(days=1),
        "periods": collab_data.period_choices(viewer, period.label),
        "node": node,
        "page_user": page,
        "is_company": node["user"] is None,
        "is_own": is_own,
        "is_closed": closed,
        "crumbs": _breadcrumb(viewer, tree, target, period.label),
        "kpis": node_kpis(node),
        "ai": ai_range(node),
        "node_adjustments": adjustments(node),
        "node_form": node_form,
        "own_row": _own_row(node),
        "children": rows,
        "total": _total_row(node, period.label),
        "missing": [{"user": name, "name": by_name[name].full_name if name in by_name else name}
                    for name in node["missing"]],
        "submit_form": submit_form if is_own else None,
        "show_history": is_own and bool(history),
        # Open for whoever is expected to submit (reps, people with deals) or already did; folded for the others.
        "submit_open": bool(node["submitted"] or page in node["missing"] or not node["children"]),
        "history": history,
        "deals": deals,
        "deal_lists": [(key, CATEGORY_LABELS[key], deals.open[key]) for key in collab_data.CATEGORIES],
        "deals_say": {key: {"text": money(getattr(said, key)), "value": exact(getattr(said, key))}
                      for key in ("closed", "commit", "best_case", "pipeline")},
        "downloads": [
            (_("Roll-up"), [(fmt, export_url("rollup", fmt, period=period.label, user=page)) for fmt in ("csv", "xlsx")]),
            (_("Submissions"), [(fmt, export_url("submissions", fmt, period=period.label)) for fmt in ("csv", "xlsx")]),
        ],
    }


# ---------------------------------------------------------------- the accuracy page


def _ratio(value: float | None) -> str:
    return percent(value) if value is not None else "–"


def _summary_rows(summary: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{
        "source": r["source"], "source_label": collab_charts.SOURCE_LABELS.get(r["source"], r["source"]),
        "week": collab_charts.week_label(r), "monday": r["week"], "week_index": r["week_index"],
        "forecast": money(r["forecast"]), "forecast_value": exact(r["forecast"]),
        "actual": money(r["actual"]), "actual_value": exact(r["actual"]),
        "error": _ratio(r["error"]), "bias": _ratio(r["bias"]),
        "people_error": _ratio(r["people_mean_error"]), "people": r["people"],
        "teams_error": _ratio(r["teams_mean_error"]), "teams": r["teams"],
    } for r in summary]


def _person_rows(rows: list[ForecastAccuracy], names: dict[int, str]) -> list[dict[str, Any]]:
    """One line per person (or the company) and source: weeks measured, mean error and bias, the last week."""
    groups: dict[tuple[Any, str], list[ForecastAccuracy]] = defaultdict(list)
    for r in rows:
        groups[(r.user_id, r.source)].append(r)
    order = accuracy.SOURCE_ORDER
    out = []
    for (user_id, source), items in groups.items():
        items.sort(key=lambda r: r.week_index)
        errors = [r.error for r in items if r.error is not None]
        biases = [r.bias for r in items if r.bias is not None]
        last = items[-1]
        out.append({
            "user": items[0].user.username if user_id is not None else "",
            "name": names.get(user_id, "") if user_id is not None else _("Company"),
            "is_team": items[0].is_team, "source": source,
            "source_label": collab_charts.SOURCE_LABELS.get(source, source),
            "weeks": len(items), "mean_error": _ratio(fmean(errors) if errors else None),
            "mean_bias": _ratio(fmean(biases) if biases else None),
            "last_week": collab_charts.week_label({"week_index": last.week_index, "week": last.week}),
            "last_forecast": money(last.forecast), "last_actual": money(last.actual), "last_error": _ratio(last.error),
        })
    out.sort(key=lambda r: (r["user"] != "", r["user"], order.get(r["source"], 9)))
    return out


def accuracy_context(viewer: Any, period_text: str | None) -> dict[str, Any]:
    closes = list(accuracy.closes())
    errors: list[str] = []
    text = (period_text or "").strip().upper()
    close: PeriodClose | None = None
    if text:
        close = next((c for c in closes if c.period.upper() == text), None)
        if close is None:
            errors.append(_("%(period)s has not been closed: its accuracy is not measured yet.") % {"period": text})
    if close is None and closes:
        close = closes[0]
    context: dict[str, Any] = {"errors": errors, "closes": closes, "close": close}
    if close is None:
        return context
    rows = list(accuracy.visible_rows(viewer, close))
    summary = accuracy.summary(viewer, close, rows)
    names = {r.user_id: r.user.full_name for r in rows if r.user_id is not None}
    context.update(
        last_day=close.period_end - dt.timedelta(days=1),
        summary=_summary_rows(summary),
        chart=collab_charts.error_chart(summary),
        people=_person_rows(rows, names),
        rows=[{
            "name": names.get(r.user_id, "") if r.user_id is not None else _("Company"),
            "source_label": collab_charts.SOURCE_LABELS.get(r.source, r.source),
            "week": collab_charts.week_label({"week_index": r.week_index, "week": r.week}),
            "forecast": money(r.forecast), "actual": money(r.actual), "error": _ratio(r.error), "bias": _ratio(r.bias),
        } for r in rows],
        sees_company=visibility.sees_everything(viewer),
        downloads=[
            (_("By source and week"), [(fmt, export_url("accuracy", fmt, period=close.period, level="summary"))
                                       for fmt in ("csv", "xlsx")]),
            (_("By person"), [(fmt, export_url("accuracy", fmt, period=close.period, level="people"))
                              for fmt in ("csv", "xlsx")]),
        ],
    )
    return context
