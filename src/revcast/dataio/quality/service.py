"""One entry point for the CLI and the web page: build the dataset, load the rules, assess."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.conf import settings

from revcast.dataio import mapping as mapping_module
from revcast.dataio.quality import db_frames, source_frames
from revcast.dataio.quality import rules as rules_module
from revcast.dataio.quality.engine import OBJECT_ORDER, Assessment, assess


class QualityError(ValueError):
    """Bad input to an assessment (unknown object, unreadable mapping or rules, bad date)."""


def parse_as_of(text: str | None) -> dt.date | None:
    """``data`` (or nothing): the data's last date; ``today``; or an ISO date."""
    if text in (None, "", "data"):
        return None
    if text == "today":
        return dt.date.today()
    try:
        return dt.date.fromisoformat(str(text))
    except ValueError as exc:
        raise QualityError(f"--as-of: {text!r} is not 'data', 'today' or a date like 2017-12-31") from exc


def run_assessment(
    *,
    source: str | Path | None = None,
    mapping: str | Path | None = None,
    rules_file: str | Path | None = None,
    object_name: str | None = None,
    as_of: str | None = None,
    examples: int = 5,
    user: Any = None,
) -> Assessment:
    if object_name is not None and object_name not in OBJECT_ORDER:
        raise QualityError(f"unknown object {object_name!r}; objects: {', '.join(OBJECT_ORDER)}")
    if (source is None) != (mapping is None):
        raise QualityError(
            "--source and --mapping go together: the mapping says which column feeds which field"
        )
    try:
        ruleset = rules_module.load(rules_file)
    except rules_module.RuleError as exc:
        raise QualityError(str(exc)) from exc
    date = parse_as_of(as_of)
    if source is not None:
        path = Path(source)
        if not path.exists():
            raise QualityError(f"{path}: no such file or folder")
        try:
            loaded = mapping_module.load(str(mapping))
        except mapping_module.MappingError as exc:
            raise QualityError(str(exc)) from exc
        dataset = source_frames.from_path(path, loaded, as_of=date, user=user)
    else:
        dataset = db_frames.build(user, as_of=date)
    return assess(
        dataset,
        ruleset,
        object_name=object_name,
        examples=examples,
        phone_region=settings.REVCAST_PHONE_REGION,
    )
