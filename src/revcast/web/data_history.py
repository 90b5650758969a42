"""Import and migration history, the change journal, rollback of a run and undo of a change set (admins)."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from revcast.core.permissions import is_admin
from revcast.dataio import history
from revcast.dataio.models import ChangeRecord, ChangeSet, ImportRun

PAGE_SIZE = 50
SHOWN_ROWS = 50


def _admin(request: HttpRequest) -> None:
    if not is_admin(request.user):
        raise PermissionDenied


def _model_label(label: str) -> str:
    try:
        return str(apps.get_model(label)._meta.verbose_name_plural)
    except LookupError:
        return label


def _count_rows(counts: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"model": _model_label(label), **c}
        for label, c in counts.items()
        if isinstance(c, dict) and "deleted" in c
    ]


@login_required
@require_GET
def history_page(request: HttpRequest) -> HttpResponse:
    _admin(request)
    runs = []
    for run in history.runs()[:PAGE_SIZE]:
        info = history.run_dict(run)
        info["sources"] = [
            {"name": name, **c} for name, c in run.counts.items() if isinstance(c, dict) and "read" in c
        ]
        runs.append(info)
    changes = []
    for cs in history.changesets()[:PAGE_SIZE]:
        info = history.changeset_dict(cs)
        info["rows"] = _count_rows(cs.counts)
        info["undone"] = info["state"] != "active"
        changes.append(info)
    return render(request, "web/data/history.html", {"runs": runs, "changes": changes})


@login_required
@require_GET
def changeset_page(request: HttpRequest, pk: int) -> HttpResponse:
    _admin(request)
    cs = get_object_or_404(history.changesets(), pk=pk)
    records = []
    for record in cs.records.all():
        rows = record.rows[:SHOWN_ROWS]
        records.append({
            "seq": record.seq,
            "model": _model_label(record.model),
            "action": record.action,
            "count": len(record.rows),
            "rows": rows if record.action != ChangeRecord.Action.CREATE else [],
            "ids": rows if record.action == ChangeRecord.Action.CREATE else [],
        })
    return render(request, "web/data/changeset.html", {
        "cs": history.changeset_dict(cs), "records": records, "shown": SHOWN_ROWS, "undone": cs.undone_by.exists(),
    })


@login_required
@require_POST
def rollback_run(request: HttpRequest, pk: int) -> HttpResponse:
    _admin(request)
    run = get_object_or_404(ImportRun, pk=pk)
    try:
        cs = history.rollback_run(run, request.user, force=request.POST.get("force") == "1")
    except (history.RollbackError, history.UndoConflict) as exc:
        messages.error(request, _("Run #%(run)s was not rolled back: %(reason)s") % {"run": run.pk, "reason": exc})
    else:
        messages.success(request, _("Run #%(run)s rolled back (change set #%(cs)s).") % {"run": run.pk, "cs": cs.pk})
    return redirect("data-history")


@login_required
@require_POST
def undo(request: HttpRequest, pk: int) -> HttpResponse:
    _admin(request)
    cs = get_object_or_404(ChangeSet, pk=pk)
    try:
        done = history.undo(cs, request.user, force=request.POST.get("force") == "1")
    except history.UndoConflict as exc:
        messages.error(request, _("Change set #%(cs)s was not undone: %(reason)s") % {"cs": cs.pk, "reason": exc})
    else:
        messages.success(request, _("Change set #%(cs)s undone (change set #%(undo)s).") % {"cs": cs.pk, "undo": done.pk})
    return redirect("data-history")
