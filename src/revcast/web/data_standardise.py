"""``/data/standardise/``: the standardisation preview, apply and undo (admins only).

Thin views over ``dataio.standardise``. GET shows what every kind of fix would change (grouped by kind, with
counts), the picklist values outside their lists with the codes they probably mean, and the standardisation
change sets already applied. POST ``apply/`` writes the chosen kinds and the confirmed picklist values in one
change set; POST ``undo/<id>/`` reverses one.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from revcast.core import permissions
from revcast.core.picklists import values_of
from revcast.dataio import standardise
from revcast.dataio.standardise import KINDS, OBJECTS
from revcast.web.templatetags.revcast_i18n import is_chinese

ROWS_SHOWN = 100
KIND_LABELS = {
    "picklists": gettext_lazy("Picklist values"),
    "phones": gettext_lazy("Phone numbers (E.164)"),
    "emails": gettext_lazy("E-mail addresses"),
    "currency": gettext_lazy("Currency codes"),
    "dates": gettext_lazy("Dates in custom fields"),
    "uscc": gettext_lazy("Unified social credit codes"),
    "names": gettext_lazy("Record names"),
}
OBJECT_LABELS = {
    "account": gettext_lazy("Accounts"),
    "contact": gettext_lazy("Contacts"),
    "opportunity": gettext_lazy("Opportunities"),
}


def _admin_only(request: HttpRequest) -> None:
    if not permissions.is_admin(request.user):
        raise PermissionDenied


def _objects(value: str | None) -> list[str]:
    return [value] if value in OBJECTS else list(OBJECTS)


def _region(value: str | None) -> str:
    return (value or settings.REVCAST_PHONE_REGION).strip().upper()


def _page_url(object_name: str, region: str) -> str:
    query = {"region": region, **({"object": object_name} if object_name else {})}
    return reverse("data-standardise") + "?" + urlencode(query)


@login_required
@require_GET
def standardise_page(request: HttpRequest) -> HttpResponse:
    _admin_only(request)
    object_name = request.GET.get("object", "") if request.GET.get("object") in OBJECTS else ""
    region = _region(request.GET.get("region"))
    context: dict[str, Any] = {
        "object_name": object_name,
        "region": region,
        "object_choices": list(OBJECT_LABELS.items()),
        "changesets": standardise.applied_changesets(),
        "rows_shown": ROWS_SHOWN,
    }
    try:
        preview = standardise.build_preview(KINDS, _objects(object_name), region=region)
    except ValueError as exc:
        messages.error(request, str(exc))
        context["region"] = settings.REVCAST_PHONE_REGION
        preview = standardise.build_preview(KINDS, _objects(object_name))
    chinese = is_chinese()
    counts = preview.counts()
    context["groups"] = [
        {
            "kind": kind,
            "label": KIND_LABELS[kind],
            "counts": counts[kind],
            "fixes": group["fixes"][:ROWS_SHOWN],
            "problems": group["problems"][:ROWS_SHOWN],
            "checked": kind != "names" and kind != "picklists" and counts[kind]["changes"] > 0,
        }
        for kind, group in preview.by_kind().items()
    ]
    lists = {key: values_of(key) for key in {s.picklist for s in preview.suggestions}}  # one query each
    context["suggestions"] = [
        {
            "s": s,
            "candidates": [(c.code, _label(c, chinese), c.score) for c in s.candidates],
            "others": [(v.value, _label(v, chinese)) for v in lists[s.picklist]
                       if v.value not in {c.code for c in s.candidates}],
        }
        for s in preview.suggestions
    ]
    context["notes"] = preview.notes
    context["preview"] = preview
    return render(request, "web/data/standardise.html", context)


def _label(value: Any, chinese: bool) -> str:
    """A picklist value's (or candidate's) label in the page's language."""
    return value.label_zh if chinese and value.label_zh else value.label_en


@login_required
@require_POST
def standardise_apply(request: HttpRequest) -> HttpResponse:
    _admin_only(request)
    object_name = request.POST.get("object", "")
    region = _region(request.POST.get("region"))
    kinds = [k for k in request.POST.getlist("kind") if k in KINDS]
    confirmed = set(request.POST.getlist("confirm"))
    confirmations: dict[str, str | None] = {}
    for i, key in enumerate(request.POST.getlist("key")):
        target = request.POST.get(f"target-{i}", "").strip()
        confirmations[key] = target if str(i) in confirmed and target else None
    if any(confirmations.values()):
        kinds.append("picklists")
    if not kinds:
        messages.warning(request, _("Choose at least one kind of fix or confirm a picklist value."))
        return redirect(_page_url(object_name, region))
    try:
        result = standardise.apply_fixes(kinds, _objects(object_name), region=region,
                                         confirmations=confirmations, user=request.user)
    except ValueError as exc:
        messages.error(request, str(exc))
        return redirect(_page_url(object_name, region))
    if result.changeset is None:
        messages.info(request, _("Nothing to change."))
    else:
        messages.success(request, _("Change set #%(id)s applied: %(n)s values changed.")
                         % {"id": result.changeset.pk, "n": sum(result.applied.values())})
    for line in result.skipped[:20]:
        messages.warning(request, _("Skipped: %(why)s") % {"why": line})
    return redirect(_page_url(object_name, region))


@login_required
@require_POST
def standardise_undo(request: HttpRequest, changeset_id: int) -> HttpResponse:
    _admin_only(request)
    try:
        done = standardise.undo(changeset_id, user=request.user)
    except standardise.StandardiseError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Change set #%(id)s undone (change set #%(undo)s).")
                         % {"id": changeset_id, "undo": done.pk})
    return redirect(reverse("data-standardise"))
