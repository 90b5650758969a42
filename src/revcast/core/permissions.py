"""Who may change what. Reads are scoped by core.visibility; this module answers write questions.

- admin (or superuser): everything;
- manager and rep: the records they can see (their own and their subtree's);
- finance and viewer: read only;
- reference data (products, stages, picklists, custom fields, users): admin only.
"""

from __future__ import annotations

from typing import Any

from revcast.core import visibility

READ_ONLY_ROLES = ("finance", "viewer")


def is_admin(user: Any) -> bool:
    return bool(user and user.is_authenticated and user.is_active and (user.is_superuser or user.role == "admin"))


def can_write(user: Any) -> bool:
    """May this user change sales records at all?"""
    return bool(user and user.is_authenticated and user.is_active and user.role not in READ_ONLY_ROLES) or is_admin(
        user
    )


def can_edit_owned(user: Any, owner_id: int | None) -> bool:
    """May ``user`` change a record owned by ``owner_id`` (opportunity, activity, account, contact)?"""
    if is_admin(user):
        return True
    if not can_write(user):
        return False
    owners = visibility.visible_owner_ids(user)
    return owners is None or owner_id in owners


def assignable_owner_ids(user: Any) -> set[int] | None:
    """Owners ``user`` may give a record to: None means anyone (admin); else their subtree."""
    if is_admin(user):
        return None
    return visibility.subtree_ids(user) if can_write(user) else set()
