"""The pipeline-changes pages: ``/reports/pipeline-changes/`` (the waterfall of a period's pipeline, its table and
reconciliation), ``/reports/pipeline-changes-deals/`` (the deals behind it) and ``/reports/slipped-deals/``.

Thin views over the report runners (``reporting.runners.pipeline_changes`` and ``slipped``), run for the user
with ``ReportParams(user=request.user, …)`` so that ``core.visibility`` holds; the parameters and the context are
``web.changes_context``'s. A parameter that cannot be read (a period, a date) or that the report refuses shows
the page again with the message and a 400, never a 500. Downloads go through the report export route
(``web.reports.report_export``), which reads the same query string.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from revcast.reporting.result import ReportResult
from revcast.web import changes_context as pages

Builder = Callable[[pages.PageRequest, Any, ReportResult | None], dict[str, Any]]


def _page(request: HttpRequest, name: str, template: str, build: Builder) -> HttpResponse:
    page = pages.read(request.GET, name, request.user)
    result = pages.run(page, request.user)
    context = build(page, request.user, result)
    return render(request, template, context, status=400 if result is None else 200)


@login_required
@require_GET
def waterfall_page(request: HttpRequest) -> HttpResponse:
    return _page(request, pages.WATERFALL, "web/changes/waterfall.html", pages.waterfall_context)


@login_required
@require_GET
def deals_page(request: HttpRequest) -> HttpResponse:
    return _page(request, pages.DEALS, "web/changes/deals.html", pages.deals_context)


@login_required
@require_GET
def slipped_page(request: HttpRequest) -> HttpResponse:
    return _page(request, pages.SLIPPED, "web/changes/slipped.html", pages.slipped_context)
