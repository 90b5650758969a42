"""Which database does this run use? The Makefile says what it expects through REVCAST_EXPECT_DB.

Without this, a misconfigured DATABASE_URL would quietly run the "PostgreSQL" suite on SQLite.
"""

import os

import pytest
from django.db import connection

KNOWN_VENDORS = ("sqlite", "postgresql")


@pytest.mark.django_db
def test_database_vendor_is_the_expected_one() -> None:
    expected = os.environ.get("REVCAST_EXPECT_DB", "")
    if not expected:
        pytest.skip(f"REVCAST_EXPECT_DB not set; this run uses {connection.vendor}")
    assert expected in KNOWN_VENDORS, f"REVCAST_EXPECT_DB={expected!r}, expected one of {KNOWN_VENDORS}"
    assert connection.vendor == expected, (
        f"expected to run on {expected}, but the database is {connection.vendor} "
        f"({connection.settings_dict['ENGINE']})"
    )


@pytest.mark.django_db
def test_database_answers_a_query() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)
