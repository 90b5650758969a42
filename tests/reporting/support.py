"""Running reports (Python API and CLI) and comparing their rows with the pandas expectations."""

from __future__ import annotations

import io
import json
import math
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest
from django.core.management import call_command

from tests.reporting import expected as E

PERCENT_TOL = 1e-12


def same(actual: Any, expected: Any) -> bool:
    """Exact for integers, text and money (Decimal to the cent); floats (percentages, days) within 1e-12."""
    if expected is None or actual is None:
        return actual is None and expected is None
    if isinstance(expected, Decimal):
        return isinstance(actual, Decimal) and actual == expected and actual.as_tuple().exponent == -2
    if isinstance(expected, bool) or isinstance(actual, bool):
        return actual is expected
    if isinstance(expected, int) and not isinstance(expected, bool) and isinstance(actual, int):
        return actual == expected
    if isinstance(expected, float):
        return isinstance(actual, float | int) and math.isclose(actual, expected, rel_tol=0, abs_tol=PERCENT_TOL)
    return type(actual) is type(expected) and actual == expected


def assert_rows(actual: list[list[Any]], expected: list[list[Any]]) -> None:
    """Full rows, in order; reports the first differing row. Two empty lists prove nothing: refused."""
    assert expected, "the expectation is empty: compare something"
    assert len(actual) == len(expected), (
        f"{len(actual)} rows, expected {len(expected)}\nactual:   {actual[:8]}\nexpected: {expected[:8]}"
    )
    for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
        assert len(a) == len(e) and all(same(x, y) for x, y in zip(a, e, strict=True)), (
            f"row {i}: {a!r}\n  expected {e!r}"
        )


def assert_mapping(actual: dict[str, Any], expected: dict[str, Any]) -> None:
    assert set(actual) == set(expected), f"keys {sorted(actual)} != {sorted(expected)}"
    for key, value in expected.items():
        if isinstance(value, dict):
            assert_mapping(actual[key], value)
        else:
            assert same(actual[key], value), f"{key}: {actual[key]!r} != expected {value!r}"


def column_names(result: Any) -> list[str]:
    return [c.name for c in result.columns]


def assert_grouped(
    report: str,
    by: list[str],
    measures: list[str],
    expect: Callable[[pd.DataFrame, Sequence[str]], dict[str, Any]],
) -> tuple[Any, dict[str, Any]]:
    """``report`` grouped ``by`` over all deals: its columns are ``by`` then ``measures``, its rows and totals
    those of ``expect(E.deals(), by)``. Returns the result and that expectation, for further checks."""
    from revcast.reporting.registry import run_report

    result = run_report(report, by=by)

    assert column_names(result) == [*by, *measures]
    exp = expect(E.deals(), by)
    assert_rows(result.rows, exp["rows"])
    assert_mapping(result.meta["totals"], exp["totals"])
    return result, exp


def cli(*args: str) -> str:
    """``revcast report ARGS`` through call_command; its standard output."""
    out = io.StringIO()
    call_command("report", *args, stdout=out)
    return out.getvalue()


def cli_json(*args: str) -> dict[str, Any]:
    return json.loads(cli(*args, "--format", "json"))


def as_json_rows(rows: list[list[Any]]) -> list[list[Any]]:
    """Expected rows as the JSON format writes them: money as numbers, exact to the cent."""
    return [[float(v) if isinstance(v, Decimal) else v for v in row] for row in rows]


def approx_rows(rows: list[list[Any]]) -> Any:
    return [[pytest.approx(v, abs=PERCENT_TOL) if isinstance(v, float) else v for v in row] for row in rows]
