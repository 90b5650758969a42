"""Build a preview: read the database, run the rules, and list every change and every problem.

Nothing is written here. ``apply`` rebuilds the preview inside its transaction and writes exactly what it
lists, so what an admin saw is what gets applied (unless records changed in between, which apply detects).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import phonenumbers
from django.conf import settings
from django.utils.translation import gettext as _

from revcast.core.models import CustomField
from revcast.dataio.standardise import picklists, rules
from revcast.dataio.standardise.fixes import DEFAULT_KINDS, KINDS, OBJECTS, Fix, Preview
from revcast.dataio.standardise.records import LABEL_COLUMNS, label, model_for

USCC_FIELD_KEY = "uscc"
CHUNK = 2000


def _rows(object_name: str, columns: Iterable[str], **filters: Any) -> Iterator[dict[str, Any]]:
    model = model_for(object_name)
    wanted = ["pk", *dict.fromkeys([*LABEL_COLUMNS[object_name], *columns])]
    yield from (
        model._default_manager.filter(**filters).order_by("pk").values(*wanted).iterator(chunk_size=CHUNK)
    )


def _add(
    preview: Preview,
    kind: str,
    object_name: str,
    row: dict[str, Any],
    field: str,
    old: Any,
    verdict: rules.Verdict | None,
) -> None:
    if verdict is None:
        return
    fix = Fix(kind, object_name, row["pk"], label(object_name, row), field, old, verdict.new, verdict.reason)
    (preview.problems if verdict.is_problem else preview.fixes).append(fix)


def _each_value(
    preview: Preview,
    kind: str,
    object_name: str,
    fields: Iterable[str],
    rule: Callable[[Any], rules.Verdict | None],
) -> None:
    fields = list(fields)
    for row in _rows(object_name, fields):
        for field in fields:
            _add(preview, kind, object_name, row, field, row[field], rule(row[field]))


def _each_custom(
    preview: Preview,
    kind: str,
    object_name: str,
    keys: Iterable[str],
    rule: Callable[[Any], rules.Verdict | None],
) -> None:
    keys = list(keys)
    if not keys:
        return
    for row in _rows(object_name, ["custom"]):
        custom = row["custom"] or {}
        for key in keys:
            if key in custom:
                _add(preview, kind, object_name, row, f"custom.{key}", custom[key], rule(custom[key]))


# ------------------------------------------------------------------------------------------- per kind


def _picklists(preview: Preview, confirmations: dict[str, str | None]) -> None:
    preview.suggestions = picklists.suggestions(preview.objects, confirmations)
    for s in preview.suggestions:
        if s.confirmed is None:
            continue
        reason = (
            _("the value is the picklist's %(code)s, written differently") % {"code": s.confirmed}
            if s.confirmed == s.exact
            else _("confirmed as the picklist's %(code)s") % {"code": s.confirmed}
        )
        model_field = s.field if not s.field.startswith("custom.") else "custom"
        qs = picklists.records_with(picklists.field_of(s), s.value).order_by("pk")
        for row in qs.values("pk", *dict.fromkeys([*LABEL_COLUMNS[s.object], model_field])).iterator(
            chunk_size=CHUNK
        ):
            preview.fixes.append(
                Fix(
                    "picklists",
                    s.object,
                    row["pk"],
                    label(s.object, row),
                    s.field,
                    s.value,
                    s.confirmed,
                    reason,
                )
            )


def _phones(preview: Preview) -> None:
    if "contact" in preview.objects:
        _each_value(preview, "phones", "contact", ["phone"], lambda v: rules.phone(v, preview.region))


def _emails(preview: Preview) -> None:
    if "contact" in preview.objects:
        _each_value(preview, "emails", "contact", ["email"], rules.email)


def _currency(preview: Preview) -> None:
    default = settings.REVCAST_DEFAULT_CURRENCY
    if "account" in preview.objects:
        for row in _rows("account", ["revenue_currency", "annual_revenue"]):
            verdict = rules.currency(
                row["revenue_currency"], has_amount=row["annual_revenue"] is not None, default=default
            )
            _add(preview, "currency", "account", row, "revenue_currency", row["revenue_currency"], verdict)
    if "opportunity" in preview.objects:
        for row in _rows("opportunity", ["currency", "amount"]):
            verdict = rules.currency(row["currency"], has_amount=row["amount"] is not None, default=default)
            _add(preview, "currency", "opportunity", row, "currency", row["currency"], verdict)


def _custom_keys(object_name: str, **filters: Any) -> list[str]:
    return list(
        CustomField.objects.filter(object=object_name, active=True, **filters).values_list("key", flat=True)
    )


def _dates(preview: Preview) -> None:
    for object_name in ("account", "opportunity"):
        if object_name in preview.objects:
            keys = _custom_keys(object_name, type=CustomField.Type.DATE)
            _each_custom(preview, "dates", object_name, keys, rules.date)


def _uscc(preview: Preview) -> None:
    if "account" not in preview.objects:
        return
    if not _custom_keys("account", key=USCC_FIELD_KEY):
        preview.notes.append(
            _(
                "Accounts have no unified social credit code field: define the account custom field '%(key)s' "
                "(text) to check codes."
            )
            % {"key": USCC_FIELD_KEY}
        )
        return
    _each_custom(preview, "uscc", "account", [USCC_FIELD_KEY], rules.uscc)


def _names(preview: Preview) -> None:
    fields = {"account": ["name"], "contact": ["first_name", "last_name"], "opportunity": ["name"]}
    for object_name in preview.objects:
        _each_value(preview, "names", object_name, fields[object_name], rules.name)


def build_preview(
    kinds: Iterable[str] = DEFAULT_KINDS,
    objects: Iterable[str] = OBJECTS,
    *,
    region: str | None = None,
    confirmations: dict[str, str | None] | None = None,
) -> Preview:
    """Everything the chosen kinds of fix would change in the chosen objects, and every problem found.

    ``region``: the country for phone numbers without a country code (default REVCAST_PHONE_REGION).
    ``confirmations``: picklist values an admin mapped ({"account.industry:technolgy": "technology"}).
    """
    wanted_kinds, wanted_objects = set(kinds), set(objects)
    unknown = (wanted_kinds - set(KINDS)) | (wanted_objects - set(OBJECTS))
    if unknown:
        raise ValueError(f"unknown fixes or objects: {', '.join(sorted(unknown))}")
    region = (region or settings.REVCAST_PHONE_REGION).upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"unknown phone region {region!r}: use an ISO 3166 country code such as CN or US")
    preview = Preview(
        tuple(k for k in KINDS if k in wanted_kinds), tuple(o for o in OBJECTS if o in wanted_objects), region
    )
    steps: dict[str, Callable[[], None]] = {
        "picklists": lambda: _picklists(preview, confirmations or {}),
        "phones": lambda: _phones(preview),
        "emails": lambda: _emails(preview),
        "currency": lambda: _currency(preview),
        "dates": lambda: _dates(preview),
        "uscc": lambda: _uscc(preview),
        "names": lambda: _names(preview),
    }
    for kind in kinds:
        steps[kind]()
    return preview
