"""Template context shared by every page: the navigation and the user's role."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from revcast.core.permissions import is_admin
from revcast.reporting.registry import REPORTS

# The reports with a page (/reports/<name>/) and an export; reports left out are served by the CLI and the API only.
# Pipeline changes and slipped deals have pages of their own (web.changes, routed before the generic report page).
REPORT_LABELS = {
    "pipeline": _("Pipeline"),
    "funnel": _("Funnel"),
    "win-rate": _("Win rate"),
    "bookings": _("Bookings"),
    "sales-cycle": _("Sales cycle"),
    "pipeline-changes": _("Pipeline changes"),
    "pipeline-changes-deals": _("Pipeline changes: deals"),
    "slipped-deals": _("Slipped deals"),
}


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "nav_reports": [(name, REPORT_LABELS.get(name, name), reverse("report", args=[name]))
                        for name in REPORTS if name in REPORT_LABELS],
        "nav_is_admin": user.is_staff or user.is_superuser,
        "nav_data": is_admin(user),  # data quality, standardisation, duplicates, history
    }
