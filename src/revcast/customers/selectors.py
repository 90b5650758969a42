"""Reads of accounts and contacts for screens; always scoped by core.visibility.

A record the user may not see raises ``DoesNotExist`` (the view turns it into a 404, never a 403), and
lists, counts and related records (parent, subsidiaries, contacts) only ever hold visible rows.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, Lower, NullIf

from revcast.core import visibility
from revcast.customers.models import Account, Contact

# sort parameter -> model fields (or annotation); a leading "-" sorts descending, empty values last.
ACCOUNT_SORTS: dict[str, tuple[str, ...]] = {
    "name": ("name",),
    "industry": ("industry",),
    "country": ("country",),
    "annual_revenue": ("annual_revenue",),
    "employees": ("employees",),
    "opportunities": ("opportunity_count",),
}
TEXT_SORTS = {"name", "industry", "country", "last_name", "first_name", "title", "email", "account__name"}
CONTACT_SORTS: dict[str, tuple[str, ...]] = {
    "name": ("last_name", "first_name"),
    "title": ("title",),
    "email": ("email",),
    "account": ("account__name",),
}


def ordered(qs: QuerySet, sort: str, sorts: dict[str, tuple[str, ...]], default: str) -> tuple[QuerySet, str]:
    """``qs`` ordered by the whitelisted ``sort`` key (else ``default``), ties broken by id.

    Returns the queryset and the sort key actually applied.
    """
    if sort.lstrip("-") not in sorts:
        sort = default
    descending = sort.startswith("-")
    exprs = []
    for name in sorts[sort.lstrip("-")]:
        # Text sorts ignore case and put empty values last, like missing ones.
        expr = Lower(NullIf(name, Value(""))) if name in TEXT_SORTS else F(name)
        exprs.append(expr.desc(nulls_last=True) if descending else expr.asc(nulls_last=True))
    return qs.order_by(*exprs, "-pk" if descending else "pk"), sort


def _visible_opportunity_count(user: Any) -> Subquery:
    opps = visibility.opportunities(user).filter(account=OuterRef("pk")).order_by()
    return Subquery(opps.values("account").annotate(n=Count("pk")).values("n"))


def account_list(
    user: Any, *, q: str = "", industry: str = "", country: str = "", sort: str = "name"
) -> tuple[QuerySet, str]:
    """Visible accounts matching the filters, each with ``opportunity_count`` (visible deals), ordered."""
    # Visible ids as a subquery: the outer query then needs no DISTINCT over every column, and the
    # per-account deal count runs once per account shown rather than once per joined row.
    qs = Account.objects.filter(pk__in=visibility.accounts(user).values("pk")).select_related("owner")
    if q.strip():
        qs = qs.filter(Q(name__icontains=q.strip()) | Q(location__icontains=q.strip()))
    if industry:
        qs = qs.filter(industry=industry)
    if country:
        qs = qs.filter(country=country)
    qs = qs.annotate(opportunity_count=Coalesce(_visible_opportunity_count(user), 0))
    return ordered(qs, sort, ACCOUNT_SORTS, "name")


def account_countries(user: Any) -> list[str]:
    """Countries of the accounts the user may see, for the filter."""
    rows = visibility.accounts(user).exclude(country="").order_by("country").values_list("country", flat=True)
    return sorted(set(rows))


def account_detail(user: Any, pk: int) -> Account:
    """One account the user may see (Account.DoesNotExist otherwise)."""
    return visibility.accounts(user).select_related("owner").get(pk=pk)


def visible_parent(user: Any, account: Account) -> Account | None:
    """The account's parent when the user may see it; None otherwise (never leaked)."""
    if account.parent_id is None:
        return None
    return visibility.accounts(user).filter(pk=account.parent_id).first()


def visible_subsidiaries(user: Any, account: Account) -> QuerySet:
    return visibility.accounts(user).filter(parent=account).order_by("name", "pk")


def account_contacts(user: Any, account: Account, *, limit: int = 100) -> QuerySet:
    return visibility.contacts(user).filter(account=account).order_by("last_name", "first_name", "pk")[:limit]


def contact_list(user: Any, *, q: str = "", sort: str = "name") -> tuple[QuerySet, str]:
    qs = visibility.contacts(user).select_related("account", "owner")
    text = q.strip()
    if text:
        qs = qs.filter(
            Q(first_name__icontains=text)
            | Q(last_name__icontains=text)
            | Q(email__icontains=text)
            | Q(phone__icontains=text)
            | Q(title__icontains=text)
            | Q(account__name__icontains=text)
        )
    return ordered(qs, sort, CONTACT_SORTS, "name")


def contact_detail(user: Any, pk: int) -> Contact:
    """One contact the user may see (Contact.DoesNotExist otherwise)."""
    return visibility.contacts(user).select_related("account", "owner").get(pk=pk)


def visible_account_of(user: Any, contact: Contact) -> Account | None:
    """The contact's account when the user may see it (a visible contact may sit on an invisible account)."""
    if contact.account_id is None:
        return None
    return visibility.accounts(user).filter(pk=contact.account_id).first()


def visible_account_ids(user: Any, ids: set[int]) -> set[int]:
    """Which of the account ids ``ids`` the user may see (one query)."""
    if not ids:
        return set()
    return set(visibility.accounts(user).filter(pk__in=ids).values_list("pk", flat=True))
