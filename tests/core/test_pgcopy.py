"""COPY in binary when the values allow it (core.pgcopy, ADR 0024): which columns fit, and rows written either
way read back exactly as given (on SQLite, insert_rows' executemany writes them)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection

from revcast.core import pgcopy
from revcast.core.bulk import insert_rows

UTC = dt.UTC


@pytest.mark.parametrize(
    ("typname", "values", "expected"),
    [
        ("int8", [1, None, 2**62], True),
        ("int4", [1, 2**31], False),  # out of range: text, where PostgreSQL reports it
        ("int2", [True], False),  # a bool is not an int here
        ("int8", ["5"], False),  # text for a number: PostgreSQL parses it
        ("numeric", [Decimal("1.50"), 3, None], True),
        ("varchar", ["a", None], True),
        ("date", [dt.date(2024, 1, 2)], True),
        ("date", [dt.datetime(2024, 1, 2, tzinfo=UTC)], False),  # a datetime is not a date
        ("timestamptz", [dt.datetime(2024, 1, 2, tzinfo=UTC), None], True),
        ("timestamptz", [dt.datetime(2024, 1, 2)], False),  # naive: text, read in the session's zone
        ("jsonb", ['{"a": 1}'], True),
        ("uuid", ["x"], False),  # a type without a binary mapping
        ("int8", [None, None], True),
    ],
)
def test_a_column_goes_in_binary_only_when_every_value_fits(typname, values, expected):
    assert pgcopy.fits(typname, values) is expected


@pytest.mark.django_db
@pytest.mark.parametrize("id_as_text", [False, True])
def test_history_rows_read_back_as_written_in_binary_and_in_text(id_as_text):
    from revcast.pipeline.models import Opportunity, OpportunityFieldHistory

    opp = Opportunity.objects.order_by("pk").first()
    assert opp is not None  # the suite's database holds the Maven data
    when = dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    ref = str(opp.pk) if id_as_text else opp.pk  # a number as text: the database parses it
    columns = ("opportunity", "field", "old_value", "new_value", "changed_at", "changed_by", "source")
    rows = [
        (ref, "stage", None, "Won", when, None, "test:binary"),
        (ref, "amount", "1.00", "2.50", when, None, "test:binary"),
        (ref, "owner", "a\tb\\c", "新的 owner\n", when, None, "test:binary"),  # tabs, backslashes, Chinese
    ]
    if connection.vendor == "postgresql":
        types = pgcopy.column_types(connection, OpportunityFieldHistory._meta.db_table)
        data = list(zip(*rows, strict=True))
        fields = [OpportunityFieldHistory._meta.get_field(c).column for c in columns]
        binary = all(pgcopy.fits(types[f], col) for f, col in zip(fields, data, strict=True))
        assert binary is not id_as_text  # one column that does not fit sends the whole COPY as text
    assert insert_rows(OpportunityFieldHistory, columns, rows) == 3
    stored = list(
        OpportunityFieldHistory.objects.filter(source="test:binary")
        .order_by("pk")
        .values_list("opportunity_id", "field", "old_value", "new_value", "changed_at", "changed_by_id")
    )
    at = dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    assert stored == [
        (opp.pk, "stage", None, "Won", at, None),
        (opp.pk, "amount", "1.00", "2.50", at, None),
        (opp.pk, "owner", "a\tb\\c", "新的 owner\n", at, None),
    ]
