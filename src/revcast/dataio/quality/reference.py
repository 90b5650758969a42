"""Reference data an assessment reads from the revcast database: stages, governed lists, existing values.

Django-side (the engine itself is plain pandas). Reads of user data go through ``core.visibility``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import FieldDoesNotExist

from revcast.core import visibility
from revcast.core.models import PicklistValue
from revcast.dataio.quality.dataset import GovernedValue, StageInfo


def stages() -> list[StageInfo]:
    from revcast.pipeline.models import Stage

    return [
        StageInfo(s.name, s.order, s.type, tuple(s.required_fields or ()))
        for s in Stage.objects.order_by("order")
    ]


def mapping_stages(rows: Iterable[dict[str, Any]], existing: list[StageInfo]) -> list[StageInfo]:
    """The stages an import through a mapping would leave: the mapping's own (as it declares them) over the
    database's."""
    by_name = {s.name: s for s in existing}
    for i, row in enumerate(rows):
        by_name[str(row["name"])] = StageInfo(
            name=str(row["name"]),
            order=int(row.get("order", (i + 1) * 10)),
            type=str(row.get("type", "open")),
            required_fields=tuple(row.get("required_fields") or ()),
        )
    return sorted(by_name.values(), key=lambda s: s.order)


def governed() -> dict[str, list[GovernedValue]]:
    """Every governed picklist's active values (admins edit them; the database is the authority)."""
    lists: dict[str, list[GovernedValue]] = defaultdict(list)
    rows = (
        PicklistValue.objects.filter(active=True)
        .select_related("picklist")
        .order_by("picklist__key", "order")
    )
    for v in rows:
        lists[v.picklist.key].append(GovernedValue(v.value, v.label_en, v.label_zh))
    return dict(lists)


def full_name(first: Any, last: Any, username: Any) -> str:
    """As ``User.full_name``: "First Last", else the username."""
    return f"{first or ''} {last or ''}".strip() or str(username or "")


def _users() -> list[tuple[str, str, str, Any]]:
    from revcast.org.models import User

    return list(User.objects.values_list("username", "first_name", "last_name", "email"))


def lookup_values(obj: str, by: str, user: Any = None) -> set[str] | None:
    """The values of ``obj.by`` that exist in the database (None when revcast cannot look ``obj`` up by it)."""
    from revcast.org.models import Region, Team
    from revcast.pipeline.models import Product, Stage

    if obj == "user":
        users = _users()
        if by == "full_name":
            return {full_name(f, la, u) for u, f, la, _ in users}
        if by == "username":
            return {u for u, _, _, _ in users}
        if by == "email":
            return {e for _, _, _, e in users if e}
        from revcast.org.models import User

        return _values(User.objects.all(), by)
    querysets = {
        "account": lambda: visibility.accounts(user),
        "contact": lambda: visibility.contacts(user),
        "opportunity": lambda: visibility.opportunities(user),
        "product": lambda: Product.objects.all(),
        "stage": lambda: Stage.objects.all(),
        "region": lambda: Region.objects.all(),
        "team": lambda: Team.objects.all(),
    }
    if obj not in querysets:
        return None
    return _values(querysets[obj](), by)


def _values(qs: Any, by: str) -> set[str] | None:
    try:
        qs.model._meta.get_field(by)
    except FieldDoesNotExist:
        return None
    return {str(v) for v in qs.values_list(by, flat=True) if v not in (None, "")}
