"""Fixtures of the forecasting tests (helpers live in support.py)."""

from __future__ import annotations

import pytest

from tests.forecasting import support as F


@pytest.fixture(scope="module")
def stored(maven_import, django_db_blocker):
    """One AI run of 2017-Q4 as of 2017-11-15 and its model, made once per test module (see support.py)."""
    with F.stored_forecasts(django_db_blocker) as data:
        yield data
