"""The one place that scopes user data to what a user may see.

Rules: an admin (or superuser) sees everything; a manager or rep sees their own records and those of
everyone below them in the reporting hierarchy, at any depth; finance and viewer users see everything
when their ``visibility_scope`` is ``all``, else their subtree. ``user=None`` means the system itself
(CLI run by an operator without ``--as``), which sees everything.

Every read of opportunities, activities, accounts and contacts on behalf of a user goes through here.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.db.models import Q, QuerySet


def sees_everything(user: Any) -> bool:
    if user is None:
        return True
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser or user.role == "admin":
        return True
    return user.role in ("finance", "viewer") and user.visibility_scope == "all"


def subtree_ids(user: Any) -> set[int]:
    """The user's id and the ids of everyone reporting to them, directly or not.

    Remembered on the user object: one query per request (``request.user``) or CLI run, not one per read.
    """
    cached = getattr(user, "_revcast_subtree", None)
    if cached is not None:
        return set(cached)
    from revcast.org.models import User

    children: dict[int | None, list[int]] = defaultdict(list)
    for uid, manager_id in User.objects.values_list("id", "manager_id"):
        children[manager_id].append(uid)
    seen = {user.pk}
    stack = [user.pk]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in seen:
                seen.add(child)
                stack.append(child)
    user._revcast_subtree = frozenset(seen)
    return seen


def visible_owner_ids(user: Any) -> set[int] | None:
    """None when the user sees all owners; else the set of owner ids whose records they see."""
    if sees_everything(user):
        return None
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return set()
    return subtree_ids(user)


def opportunities(user: Any, qs: QuerySet | None = None) -> QuerySet:
    from revcast.pipeline.models import Opportunity

    qs = Opportunity.objects.all() if qs is None else qs
    owners = visible_owner_ids(user)
    return qs if owners is None else qs.filter(owner_id__in=owners)


def activities(user: Any, qs: QuerySet | None = None) -> QuerySet:
    from revcast.activities.models import Activity

    qs = Activity.objects.all() if qs is None else qs
    owners = visible_owner_ids(user)
    return qs if owners is None else qs.filter(owner_id__in=owners)


def accounts(user: Any, qs: QuerySet | None = None) -> QuerySet:
    """Accounts the user owns (or their subtree owns), or that carry an opportunity they can see."""
    from revcast.customers.models import Account

    qs = Account.objects.all() if qs is None else qs
    owners = visible_owner_ids(user)
    if owners is None:
        return qs
    return qs.filter(Q(owner_id__in=owners) | Q(opportunities__owner_id__in=owners)).distinct()


def contacts(user: Any, qs: QuerySet | None = None) -> QuerySet:
    from revcast.customers.models import Contact

    qs = Contact.objects.all() if qs is None else qs
    owners = visible_owner_ids(user)
    if owners is None:
        return qs
    visible_accounts = accounts(user).values("pk")
    return qs.filter(Q(owner_id__in=owners) | Q(account__in=visible_accounts)).distinct()
