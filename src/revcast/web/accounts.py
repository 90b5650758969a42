"""Account and contact pages: lists (search, filters, sort, pagination, counts) and details.

Thin views over ``customers.selectors`` (scoped by ``core.visibility``): an invisible record is a 404, and
parents, subsidiaries, contacts, deals and activities shown on a page are only the visible ones.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from revcast.activities.selectors import recent_activities
from revcast.core import picklists, visibility
from revcast.customers import selectors
from revcast.customers.models import Account, Contact
from revcast.pipeline.forms import custom_value_rows, field_label, picklist_label
from revcast.web.opportunities import htmx_target, opportunity_listing, render_list

PAGE_SIZE = 50
ACCOUNT_RESULTS_ID = "account-results"
CONTACT_RESULTS_ID = "contact-results"

ACCOUNT_LABELS = {
    "name": _("Name"),
    "industry": _("Industry"),
    "size": _("Size"),
    "annual_revenue": _("Annual revenue"),
    "employees": _("Employees"),
    "year_established": _("Year established"),
    "country": _("Country"),
    "location": _("Location"),
    "parent": _("Parent account"),
    "owner": _("Owner"),
}
CONTACT_LABELS = {
    "first_name": _("First name"),
    "last_name": _("Last name"),
    "title": _("Title"),
    "email": _("E-mail"),
    "phone": _("Phone"),
    "account": _("Account"),
    "owner": _("Owner"),
}

ACCOUNT_COLUMNS = (
    ("name", _("Account"), "name", ""),
    ("industry", _("Industry"), "industry", "rc-hide-xs"),
    ("country", _("Country"), "country", "rc-hide-xs"),
    ("annual_revenue", _("Annual revenue"), "annual_revenue", "rc-table-num rc-hide-xs"),
    ("employees", _("Employees"), "employees", "rc-table-num rc-hide-xs"),
    ("opportunities", _("Opportunities"), "opportunities", "rc-table-num"),
)
CONTACT_COLUMNS = (
    ("name", pgettext_lazy("person", "Name"), "name", ""),
    ("title", _("Title"), "title", "rc-hide-xs"),
    ("account", _("Account"), "account", ""),
    ("email", _("E-mail"), "email", "rc-hide-xs"),
    ("phone", _("Phone"), None, "rc-hide-xs"),
)


def _label(model: Any, name: str, labels: dict[str, Any]) -> str:
    """Our label for a field (the page's wording), else the field's translatable verbose name."""
    if name in labels:
        return str(labels[name])
    return capfirst(str(model._meta.get_field(name).verbose_name))


def _columns(spec: tuple[tuple[str, Any, str | None, str], ...], sort: str) -> list[dict[str, Any]]:
    columns = []
    for key, label, sort_key, css in spec:
        state = None
        if sort_key and sort.lstrip("-") == sort_key:
            state = "descending" if sort.startswith("-") else "ascending"
        next_sort = None
        if sort_key:
            next_sort = sort_key if state == "descending" else ("-" + sort_key if state else sort_key)
        columns.append({"key": key, "label": label, "css": css, "next": next_sort, "state": state})
    return columns


def _page(request: HttpRequest, qs: Any) -> dict[str, Any]:
    paginator = Paginator(qs, PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    return {
        "rows": list(page.object_list),
        "page_obj": page,
        "paginator": paginator,
        "page_range": paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1),
    }


def _industry_labels() -> dict[str, str]:
    return {v.value: picklist_label(v) for v in picklists.values_of("industry", active_only=False)}


def _render(request: HttpRequest, template: str, partial: str, results_id: str, context: dict[str, Any]) -> HttpResponse:
    if htmx_target(request) == results_id:
        template = partial
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


# ---------------------------------------------------------------------- accounts


@login_required
def account_list(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "")
    industry = request.GET.get("industry", "")
    country = request.GET.get("country", "")
    qs, sort = selectors.account_list(request.user, q=q, industry=industry, country=country,
                                      sort=request.GET.get("sort", ""))
    industries = _industry_labels()
    page = _page(request, qs)
    for account in page["rows"]:
        account.industry_label = industries.get(account.industry, account.industry)
    context = {
        **page,
        "results_id": ACCOUNT_RESULTS_ID,
        "columns": _columns(ACCOUNT_COLUMNS, sort),
        "sort": sort,
        "q": q,
        "industry": industry,
        "country": country,
        "industry_choices": [
            (v.value, picklist_label(v)) for v in picklists.values_of("industry")
        ],
        "country_choices": selectors.account_countries(request.user),
    }
    return _render(request, "web/accounts/list.html", "web/accounts/_results.html", ACCOUNT_RESULTS_ID, context)


def _account_custom_values(account: Account) -> list[tuple[str, Any]]:
    return custom_value_rows("account", account.custom)


@login_required
def account_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        account = selectors.account_detail(request.user, pk)
    except Account.DoesNotExist:
        raise Http404 from None
    listing = opportunity_listing(
        request, visibility.opportunities(request.user).filter(account=account), hide_account=True
    )
    if htmx_target(request) == listing["results_id"]:
        return render_list(request, "web/opportunities/_results.html", listing)
    size_labels = {v.value: picklist_label(v) for v in picklists.values_of("account_size", active_only=False)}
    context = {
        **listing,
        "account": account,
        "labels": {name: _label(Account, name, ACCOUNT_LABELS) for name in ACCOUNT_LABELS},
        "industry_label": _industry_labels().get(account.industry, account.industry),
        "size_label": size_labels.get(account.size, account.size),
        "custom_values": _account_custom_values(account),
        "parent": selectors.visible_parent(request.user, account),
        "subsidiaries": list(selectors.visible_subsidiaries(request.user, account)),
        "contacts": list(selectors.account_contacts(request.user, account)),
        "activities": recent_activities(request.user, account=account),
        "opportunity_label": field_label("name"),
    }
    return render_list(request, "web/accounts/detail.html", context)


# ---------------------------------------------------------------------- contacts


@login_required
def contact_list(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "")
    qs, sort = selectors.contact_list(request.user, q=q, sort=request.GET.get("sort", ""))
    page = _page(request, qs)
    visible = selectors.visible_account_ids(request.user, {c.account_id for c in page["rows"] if c.account_id})
    for contact in page["rows"]:
        contact.visible_account = contact.account if contact.account_id in visible else None
    context = {
        **page,
        "results_id": CONTACT_RESULTS_ID,
        "columns": _columns(CONTACT_COLUMNS, sort),
        "sort": sort,
        "q": q,
    }
    return _render(request, "web/contacts/list.html", "web/contacts/_results.html", CONTACT_RESULTS_ID, context)


@login_required
def contact_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        contact = selectors.contact_detail(request.user, pk)
    except Contact.DoesNotExist:
        raise Http404 from None
    context = {
        "contact": contact,
        "account": selectors.visible_account_of(request.user, contact),
        "labels": {name: _label(Contact, name, CONTACT_LABELS) for name in CONTACT_LABELS},
        "activities": recent_activities(request.user, contact=contact),
    }
    return render(request, "web/contacts/detail.html", context)
