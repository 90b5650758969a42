"""Reading governed picklists and matching raw values to their codes."""

from __future__ import annotations

from collections.abc import Iterable

from revcast.core.models import PicklistValue


def values_of(picklist_key: str, *, active_only: bool = True) -> list[PicklistValue]:
    qs = PicklistValue.objects.filter(picklist__key=picklist_key)
    if active_only:
        qs = qs.filter(active=True)
    return list(qs)


def match_picklist_value(values: Iterable[PicklistValue], raw: str) -> str | None:
    """The code that ``raw`` stands for: an exact code, or a case-insensitive code/English/Chinese label."""
    text = raw.strip()
    folded = text.casefold()
    for v in values:
        if text == v.value:
            return v.value
    for v in values:
        if folded in (v.value.casefold(), v.label_en.casefold(), v.label_zh.casefold()):
            return v.value
    return None
