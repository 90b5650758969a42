"""``/data/duplicates/``: duplicate clusters for review, merge and undo (admins only).

Thin views over ``dataio.dedup.services``. GET lists the clusters of one object (``object``: accounts,
contacts, opportunities; ``threshold``: a match probability) with the records side by side, the pair scores
and each field's comparison, and the past merges. POST ``merge/`` merges one cluster with the survivor and
per-field values the reviewer chose; POST ``undo/<id>/`` undoes a merge.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from revcast.core import permissions
from revcast.dataio.dedup import services
from revcast.dataio.dedup.specs import SPECS
from revcast.dataio.journal import UndoConflict
from revcast.dataio.models import ChangeSet

CLUSTERS_SHOWN = 30
OBJECT_LABELS = {
    "accounts": gettext_lazy("Accounts"),
    "contacts": gettext_lazy("Contacts"),
    "opportunities": gettext_lazy("Opportunities"),
}
LEVEL_LABELS = {"exact": gettext_lazy("exact"), "different": gettext_lazy("different"),
                "missing": gettext_lazy("missing"), "same core name": gettext_lazy("same core name")}


def _admin_only(request: HttpRequest) -> None:
    if not permissions.is_admin(request.user):
        raise PermissionDenied


def _threshold(text: str | None) -> float | None:
    try:
        value = float(text) if text else None
    except ValueError:
        return None
    return value if value is not None and 0.0 < value <= 1.0 else None


def _page_url(obj: str, threshold: float | None) -> str:
    query = {"object": obj, **({"threshold": threshold} if threshold else {})}
    return reverse("data-duplicates") + "?" + urlencode(query)


def _level(text: str) -> str:
    return str(LEVEL_LABELS.get(text, text))


def _display(model: type[models.Model], fields: Sequence[str],
             plans: list[dict[str, Any]]) -> tuple[dict[str, str], dict[str, dict[Any, str]]]:
    """Field labels, and the names of the records foreign keys point at (one query per field), so a
    reviewer reads "Acme Corporation", not 19."""
    labels: dict[str, str] = {}
    names: dict[str, dict[Any, str]] = {}
    for name in fields:
        f = model._meta.get_field(name)
        labels[name] = str(getattr(f, "verbose_name", name))
        if f.is_relation and f.related_model is not None:
            ids = {r.get(name) for plan in plans for r in plan["records"]} - {None}
            names[name] = {pk: str(o) for pk, o in f.related_model._base_manager.in_bulk(list(ids)).items()}
    return labels, names


@login_required
@require_GET
def duplicates_page(request: HttpRequest) -> HttpResponse:
    _admin_only(request)
    obj = request.GET.get("object") if request.GET.get("object") in SPECS else "accounts"
    threshold = _threshold(request.GET.get("threshold"))
    result = services.find(obj, user=request.user, threshold=threshold)
    fields = services.MERGE_FIELDS[obj]
    shown = list(result.clusters().items())[:CLUSTERS_SHOWN]
    plans = [services.plan_merge(obj, members, user=request.user) for _cid, members in shown]
    model = services.target(obj).model
    labels, names = _display(model, fields, plans)
    clusters = []
    for (cid, members), plan in zip(shown, plans, strict=True):
        pairs = result.cluster_pairs(cid)
        for pair in pairs:
            for f in pair["fields"]:
                f["level_label"] = _level(f["level"])
        rows = []
        for name in fields:
            values = [r.get(name) for r in plan["records"]]
            shown_values = [names[name].get(v, v) if name in names else v for v in values]
            rows.append({"name": name, "label": labels[name],
                         "values": list(zip([r["id"] for r in plan["records"]], shown_values, strict=True)),
                         "origin": plan["origin"].get(name), "differs": len({str(v) for v in values}) > 1})
        clusters.append({"id": cid, "members": members, "survivor": plan["survivor"], "rows": rows,
                         "pairs": pairs, "score": max((p["probability"] for p in pairs), default=None)})
    context: dict[str, Any] = {
        "object_name": obj, "object_choices": list(OBJECT_LABELS.items()),
        "threshold": result.threshold, "stats": result.stats, "clusters": clusters,
        "cluster_count": result.stats["clusters"], "shown": CLUSTERS_SHOWN,
        "merges": services.recent_merges(),
    }
    return render(request, "web/data/duplicates.html", context)


@login_required
@require_POST
def duplicates_merge(request: HttpRequest) -> HttpResponse:
    _admin_only(request)
    obj = request.POST.get("object", "")
    threshold = _threshold(request.POST.get("threshold"))
    if obj not in SPECS:
        messages.error(request, _("Unknown object."))
        return redirect(reverse("data-duplicates"))
    try:
        ids = [int(x) for x in request.POST.getlist("member")]
        survivor = int(request.POST["survivor"]) if request.POST.get("survivor") else None
        choices = {name: int(request.POST[f"field-{name}"]) for name in services.MERGE_FIELDS[obj]
                   if request.POST.get(f"field-{name}", "").isdigit()}
    except ValueError:
        messages.error(request, _("The merge form was not filled in correctly."))
        return redirect(_page_url(obj, threshold))
    try:
        cs = services.merge(obj, ids, survivor=survivor, choices=choices, user=request.user)
    except services.MergeError as exc:
        messages.error(request, str(exc))
    else:
        info = services.merge_info(cs)
        messages.success(request, _("Merged %(merged)s into %(survivor)s (change set #%(id)s).") % {
            "merged": ", ".join(map(str, info["merged"])), "survivor": info["survivor"], "id": cs.pk})
    return redirect(_page_url(obj, threshold))


@login_required
@require_POST
def duplicates_undo(request: HttpRequest, changeset_id: int) -> HttpResponse:
    _admin_only(request)
    cs = ChangeSet.objects.filter(pk=changeset_id, kind=ChangeSet.Kind.MERGE).first()
    obj = services.merge_info(cs)["object"] if cs else ""
    if cs is None:
        messages.error(request, _("No such merge."))
    else:
        try:
            done = services.undo_merge(cs, user=request.user)
        except (UndoConflict, services.MergeError) as exc:
            messages.error(request, _("Cannot undo: %(why)s") % {"why": exc})
        else:
            messages.success(request, _("Change set #%(id)s undone (change set #%(undo)s).")
                             % {"id": changeset_id, "undo": done.pk})
    return redirect(_page_url(obj if obj in SPECS else "accounts", None))
