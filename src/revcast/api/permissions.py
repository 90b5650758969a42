"""Who may write what over the API, on top of core.permissions (reads are scoped by core.visibility).

- finance and viewer users: read only (403 on every write);
- products and stages (reference data): writes by admins only;
- opportunities, accounts, contacts, activities: changed by their owner and anyone above the owner in the
  hierarchy (and admins); a record seen only through another one (an account through one's deal) is read only;
- deletion: opportunities by admins only (a deal that ends is closed as Lost, so that history, reports and
  forecasts keep it); accounts and contacts by admins and the owner's managers; activities by their owner,
  the owner's managers and admins.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from revcast.core import permissions as core


def may_delete_opportunity(user: Any, obj: Any) -> bool:
    return core.is_admin(user)


def may_delete_customer(user: Any, obj: Any) -> bool:
    """Accounts and contacts: an admin, or a manager above (or owning) the record."""
    if core.is_admin(user):
        return True
    return getattr(user, "role", None) == "manager" and obj.owner_id is not None and core.can_edit_owned(
        user, obj.owner_id
    )


def may_delete_owned(user: Any, obj: Any) -> bool:
    """Activities: their owner, the owner's managers, admins."""
    return core.can_edit_owned(user, obj.owner_id)


class SalesRecordPermission(BasePermission):
    """Writes on owned sales records; the view names its delete rule as ``may_delete(user, obj)``."""

    message = _("You may not change this record.")

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method in SAFE_METHODS:
            return True
        if not core.can_write(request.user):
            self.message = _("Your role may only read.")
            return False
        return True

    def has_object_permission(self, request: Request, view: Any, obj: Any) -> bool:
        if request.method in SAFE_METHODS:
            return True
        if request.method == "DELETE":
            self.message = _("You may not delete this record.")
            return bool(view.may_delete(request.user, obj))
        return core.can_edit_owned(request.user, obj.owner_id)


class ReferenceDataPermission(BasePermission):
    """Products and stages: everyone signed in reads them, admins change them."""

    message = _("Only an administrator may change reference data.")

    def has_permission(self, request: Request, view: Any) -> bool:
        return request.method in SAFE_METHODS or core.is_admin(request.user)
