"""Fields shared by the API serializers: owners by username, visible records by id, picklists, custom values."""

from __future__ import annotations

import math
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from revcast.core import permissions, visibility
from revcast.core.picklists import match_picklist_value, values_of

MAX_INT = 2**31 - 1


def request_user(field: Any) -> Any:
    """The user of the request a field or serializer works for."""
    request = field.context.get("request")
    return getattr(request, "user", None)


def has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(has_nul(v) for v in value)
    return False


class NameRelatedField(serializers.SlugRelatedField):
    """A related record by a name (stage, product, username); anything but plain text is invalid input."""

    default_error_messages = {"invalid": _("Expected a name (text without null characters).")}

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str) or "\x00" in data:
            self.fail("invalid")
        return super().to_internal_value(data)


class OwnerField(NameRelatedField):
    """An owner by username; only users the requesting user may assign records to (a rep: themselves)."""

    default_error_messages = {"does_not_exist": _("'{value}' is not a user you may assign records to.")}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("help_text", _("Username of the owner. A rep may only assign themselves."))
        super().__init__(slug_field="username", **kwargs)

    def get_queryset(self) -> QuerySet:
        from revcast.org.models import User

        qs = User.objects.filter(is_active=True)
        if self.read_only:
            return qs
        allowed = permissions.assignable_owner_ids(request_user(self))
        return qs if allowed is None else qs.filter(pk__in=allowed)


class OwnedRecordMixin:
    """Accounts and contacts may be unowned, but only an admin may leave one without owner: anyone else would
    lose sight of it."""

    def validate_owner(self, value: Any) -> Any:
        if value is None and permissions.assignable_owner_ids(request_user(self)) is not None:
            raise serializers.ValidationError(_("Only an administrator may leave a record without owner."),
                                              code="required")
        return value


class VisibleRelatedField(serializers.PrimaryKeyRelatedField):
    """A related record by id, among those the requesting user may see (others read as nonexistent)."""

    default_error_messages = {
        "does_not_exist": _('Invalid id "{pk_value}": no such record.'),
        "incorrect_type": _("Incorrect type. Expected an id (integer), received {data_type}."),
    }

    def __init__(self, scope: str, **kwargs: Any) -> None:
        self.scope = scope
        super().__init__(**kwargs)

    def get_queryset(self) -> QuerySet:
        return getattr(visibility, self.scope)(request_user(self))

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, bool) or not isinstance(data, int | str):
            self.fail("incorrect_type", data_type=type(data).__name__)
        if isinstance(data, str) and not data.isdigit():
            self.fail("incorrect_type", data_type="str")
        if not 0 < int(data) <= 2**63 - 1:
            self.fail("does_not_exist", pk_value=data)
        return super().to_internal_value(data)


class PicklistField(serializers.CharField):
    """A code of a governed picklist; a label (English or Chinese) is accepted and stored as its code."""

    def __init__(self, picklist: str, **kwargs: Any) -> None:
        self.picklist = picklist
        kwargs.setdefault("allow_blank", True)
        kwargs.setdefault("max_length", 120)
        kwargs.setdefault("help_text", _("A code of the '%(key)s' picklist.") % {"key": picklist})
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        text = super().to_internal_value(data)
        if text == "":
            return text
        values = values_of(self.picklist)
        code = match_picklist_value(values, text)
        if code is None:
            allowed = ", ".join(v.value for v in values)
            raise serializers.ValidationError(
                _("'%(value)s' is not a value of picklist '%(key)s' (%(allowed)s).")
                % {"value": text, "key": self.picklist, "allowed": allowed},
                code="invalid_choice",
            )
        return code


CUSTOM_VALUES_SCHEMA = {
    "type": "object",
    "additionalProperties": {
        "anyOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}],
        "nullable": True,
    },
    "description": "Custom field values by key (admin-defined: picklist code, number, date YYYY-MM-DD, text). "
    "On update the given keys are merged into the stored values; null clears one.",
}


@extend_schema_field(CUSTOM_VALUES_SCHEMA)
class CustomValuesField(serializers.DictField):
    """Custom field values: an object of scalars. Checked against the definitions by the services."""

    default_error_messages = {
        "not_scalar": _("Custom values must be text, numbers, true/false or null."),
        "nul": _("Null characters are not allowed."),
    }

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        values = super().to_internal_value(data)
        for value in values.values():
            if value is not None and not isinstance(value, str | int | float | bool):
                self.fail("not_scalar")
            if isinstance(value, float) and not math.isfinite(value):
                self.fail("not_scalar")
        if has_nul(values):
            self.fail("nul")
        return values
