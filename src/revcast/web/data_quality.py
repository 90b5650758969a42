"""The data quality page (admins): scores per object and dimension, findings, a CSV of each finding's records.

``/data/quality/`` assesses the database as the signed-in admin sees it (``core.visibility`` with
``request.user``); ``?object=NAME`` keeps one object's rules and ``?as_of=data|today|DATE`` sets the date
staleness is measured at. ``/data/quality/offending.csv?finding=ID`` (same parameters) re-runs the assessment
and returns every offending record of that finding, in full (no ``finding``: of all findings).
"""

from __future__ import annotations

import io

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from revcast.core.permissions import is_admin
from revcast.dataio.quality import present
from revcast.dataio.quality.engine import OBJECT_ORDER, Assessment
from revcast.dataio.quality.service import QualityError, run_assessment


def _assess(request: HttpRequest) -> tuple[Assessment, dict[str, str]]:
    if not is_admin(request.user):
        raise PermissionDenied
    params = {k: request.GET[k] for k in ("object", "as_of") if request.GET.get(k)}
    try:
        assessment = run_assessment(
            object_name=params.get("object"), as_of=params.get("as_of"), examples=5, user=request.user
        )
    except QualityError as exc:
        raise Http404(str(exc)) from exc
    return assessment, params


@login_required
@require_GET
def quality_page(request: HttpRequest) -> HttpResponse:
    assessment, params = _assess(request)
    context = present.context(assessment)
    context.update(
        {
            "objects": [(o, present.OBJECT_LABELS[o]) for o in OBJECT_ORDER],
            "selected_object": params.get("object", ""),
            "as_of_text": params.get("as_of", ""),
            "download_url": reverse("data-quality-offending"),
            "query": urlencode(params),
        }
    )
    return render(request, "web/data/quality.html", context)


@login_required
@require_GET
def offending_csv(request: HttpRequest) -> HttpResponse:
    assessment, _ = _assess(request)
    finding_id = request.GET.get("finding")
    findings = None
    name = "quality-offending.csv"
    if finding_id:
        finding = assessment.finding(finding_id)
        if finding is None:
            raise Http404("no such finding (the data may have changed since the page was shown)")
        findings = [finding]
        name = f"quality-{finding.rule}-{finding.id}.csv"
    buffer = io.StringIO()
    present.write_offending(assessment, buffer, findings)
    response = HttpResponse("\ufeff" + buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
