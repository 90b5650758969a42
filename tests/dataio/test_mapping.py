"""The mapping loader and the value parsers (no database needed)."""

from __future__ import annotations

import datetime as dt
import hashlib
import textwrap
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from revcast.dataio.fields import FieldError, parse_date, parse_decimal
from revcast.dataio.mapping import MappingError, load

VALID = """\
name: t
sources:
  - name: products
    file: products.csv
    object: product
    fields:
      name: product
      list_price: sales_price
"""


def _write(tmp_path, text: str):
    path = tmp_path / "m.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def _error(tmp_path, text: str) -> str:
    path = _write(tmp_path, text)
    with pytest.raises(MappingError) as exc:
        load(path)
    message = str(exc.value)
    assert message.startswith(str(path)), message  # every message names the mapping file first
    return message


# ------------------------------------------------------------------ valid mappings


def test_maven_mapping_loads(maven_mapping_path):
    m = load(maven_mapping_path)
    assert m.name == "maven_crm"
    assert m.sha256 == hashlib.sha256(maven_mapping_path.read_bytes()).hexdigest()
    assert [s.name for s in m.sources] == ["sales_teams", "products", "accounts", "opportunities"]
    assert [s["name"] for s in m.stages] == ["Prospecting", "Engaging", "Won", "Lost"]
    opps = next(s for s in m.sources if s.name == "opportunities")
    assert opps.key == "external_id" and opps.encoding == "auto" and opps.delimiter == ","
    amount = next(f for f in opps.fields if f.target == "amount")
    assert amount.column == "close_value" and amount.null_values == ["0"]
    assert amount.fallback.source == "product.list_price"
    assert amount.fallback.when_column == "deal_stage"
    assert amount.fallback.when_in == ["Prospecting", "Engaging", "Lost"]
    product = next(f for f in opps.fields if f.target == "product")
    assert product.map == {"GTXPro": "GTX Pro"} and (product.ref, product.by) == ("product", "name")
    assert opps.stage_dates == {"Engaging": "engage_date", "Won": "close_date", "Lost": "close_date"}
    assert {k: (v.column, v.initial_from, v.initial_value) for k, v in opps.known_on.items()} == {
        "amount": ("close_date", "product.list_price", None),
        "expected_close_on": ("close_date", None, None),
    }
    assert set(opps.columns) == {
        "opportunity_id",
        "sales_agent",
        "product",
        "account",
        "deal_stage",
        "engage_date",
        "close_date",
        "close_value",
    }
    accounts = next(s for s in m.sources if s.name == "accounts")
    revenue = next(f for f in accounts.fields if f.target == "annual_revenue")
    assert revenue.multiply == 1000000


def test_minimal_mapping_and_bom(tmp_path):
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + VALID.encode())
    m = load(path)
    assert m.name == "t"
    src = m.sources[0]
    assert (src.name, src.file, src.object, src.key, src.encoding) == (
        "products",
        "products.csv",
        "product",
        None,
        "auto",
    )
    assert [(f.target, f.column, f.formats) for f in src.fields] == [
        ("name", "product", ["%Y-%m-%d"]),
        ("list_price", "sales_price", ["%Y-%m-%d"]),
    ]


# ------------------------------------------------------------------ refused mappings


def test_missing_mapping_file(tmp_path):
    path = tmp_path / "nope.yaml"
    with pytest.raises(MappingError, match="cannot read the mapping file") as exc:
        load(path)
    assert str(exc.value).startswith(str(path))


def test_bad_yaml_names_the_line(tmp_path):
    message = _error(tmp_path, "name: t\nsources:\n  - file: a.csv\n    object: [product\n")
    assert "not valid YAML" in message
    assert "line" in message


BAD = [
    ("- a\n- b\n", "must be a YAML mapping"),
    (VALID + "sourcez: []\n", "unknown top-level key(s) ['sourcez']"),
    ("name: t\nsources: []\n", "'sources' lists no source"),
    ("name: t\nsources: [products.csv]\n", "sources[0]: expected a mapping"),
    (
        "name: t\nsources:\n  - {file: p.csv, object: product, fields: {name: a}, fiels: 1}\n",
        "sources[0]: unknown key(s) ['fiels']",
    ),
    ("name: t\nsources:\n  - {object: product, fields: {name: a}}\n", "sources[0]: 'file' is required"),
    ("name: t\nsources:\n  - {file: p.csv, fields: {name: a}}\n", "sources[0]: 'object' is required"),
    (
        "name: t\nsources:\n  - {file: p.csv, object: product, fields: {name: a}}\n"
        "  - {file: p.csv, object: product, fields: {name: a}}\n",
        "sources[1]: duplicate source name 'p'",
    ),
    ("name: t\nsources:\n  - {file: p.csv, object: product, fields: {}}\n", "sources.p.fields: expected"),
    (
        "name: t\nsources:\n  - {file: p.csv, object: product, fields: {name: {colum: a}}}\n",
        "sources.p.fields.name: unknown option(s) ['colum']",
    ),
    (
        "name: t\nsources:\n  - {file: p.csv, object: product, fields: {name: [a]}}\n",
        "sources.p.fields.name: expected a column name or a mapping of options",
    ),
    (
        "name: t\nsources:\n  - {file: p.csv, object: product, fields: {name: {map: {a: b}}}}\n",
        "sources.p.fields.name: give a 'column', a constant 'value' or a 'fallback'",
    ),
    (
        "name: t\nsources:\n  - {file: p.csv, object: product, fields: {name: {column: a, transform: reverse}}}\n",
        "sources.p.fields.name.transform: unknown ['reverse']",
    ),
    (
        "name: t\nsources:\n  - {file: p.csv, object: product, fields: {name: {column: a, on_missing: skip}}}\n",
        "sources.p.fields.name.on_missing: must be 'reject' or 'null'",
    ),
    (
        "name: t\nsources:\n  - {file: p.csv, object: product, fields: {name: {column: a, map: [a]}}}\n",
        "sources.p.fields.name.map: expected",
    ),
    (
        "name: t\nsources:\n  - {file: p.csv, object: opportunity, fields: {amount: {fallback: list_price}}}\n",
        "sources.p.fields.amount.fallback: 'list_price' must read REF_FIELD.ATTRIBUTE",
    ),
    (
        "name: t\nsources:\n  - {file: p.csv, object: opportunity, fields: {amount: {fallback: [x]}}}\n",
        "sources.p.fields.amount.fallback: expected",
    ),
    (
        "name: t\nsources:\n  - file: p.csv\n    object: opportunity\n    fields:\n      amount:\n"
        "        fallback: {from: product.list_price, when: {column: stage}}\n",
        "sources.p.fields.amount.fallback.when: expected {column: NAME, in: [VALUES]}",
    ),
    (
        "name: t\nsources:\n  - {file: p.csv, object: opportunity, fields: {a: b}, stage_dates: [Won]}\n",
        "sources.p.stage_dates: expected STAGE_NAME: DATE_COLUMN pairs",
    ),
    (VALID + "stages: [Won]\n", "'stages' must be a list of mappings, each with a 'name'"),
]


@pytest.mark.parametrize(("text", "expected"), BAD, ids=[e for _, e in BAD])
def test_refused_with_location(tmp_path, text, expected):
    message = _error(tmp_path, text)
    assert expected in message


def test_defaults_must_be_a_mapping(tmp_path):
    """BUG (src/revcast/dataio/mapping.py, parse): ``defaults: [USD]`` crashes with AttributeError
    ('list' object has no attribute 'get') instead of a MappingError naming 'defaults'."""
    message = _error(tmp_path, VALID + "defaults: [USD]\n")
    assert "defaults" in message


def test_unknown_defaults_key_is_refused(tmp_path):
    """BUG (src/revcast/dataio/mapping.py, parse): keys of 'defaults' are never checked, so a typo such as
    ``encodign: gbk`` is silently ignored and every file is read with encoding 'auto'."""
    message = _error(tmp_path, VALID + "defaults: {encodign: gbk}\n")
    assert "defaults" in message and "encodign" in message


def test_unknown_fallback_key_is_refused(tmp_path):
    """BUG (src/revcast/dataio/mapping.py, _field): unknown keys of a fallback mapping are ignored, so a typo
    in 'when' (``whn:``) silently drops the condition and the fallback then applies to every row."""
    message = _error(
        tmp_path,
        "name: t\nsources:\n  - file: p.csv\n    object: opportunity\n    fields:\n      amount:\n"
        "        column: v\n        fallback: {from: product.list_price, whn: {column: s, in: [Lost]}}\n",
    )
    assert "sources.p.fields.amount.fallback" in message and "whn" in message


# ------------------------------------------------------------------ value parsers (property tests)

DB_RANGE = Decimal("9999999999999999.99")  # 18 digits, 2 places: Opportunity.amount, Product.list_price


@settings(max_examples=300, deadline=None, database=None)
@given(st.decimals(min_value=-DB_RANGE, max_value=DB_RANGE, places=2, allow_nan=False, allow_infinity=False))
def test_parse_decimal_round_trips_two_place_text(value):
    texts = [str(value), format(value, "f"), format(value, ",.2f"), f"  {format(value, 'f')}\t"]
    if value >= 0:
        texts += ["$" + format(value, ",.2f"), "¥ " + format(value, ",.2f")]
    for text in texts:
        parsed = parse_decimal(text, places=2)
        assert parsed == value, text
        assert parsed.as_tuple().exponent == -2, text


@settings(max_examples=100, deadline=None, database=None)
@given(st.integers(min_value=10**26, max_value=10**40), st.booleans())
def test_parse_decimal_beyond_context_precision_round_trips_or_gives_a_reason(cents, negative):
    """BUG (src/revcast/dataio/fields.py, parse_decimal): for 29+ significant digits ``number.quantize``
    raises decimal.InvalidOperation (context precision 28) instead of returning the value (or raising
    FieldError with a reason). In an import this crashes the whole run (see test_corrupt_files)."""
    value = Decimal(-cents if negative else cents).scaleb(-2)
    text = format(value, "f")
    try:
        parsed = parse_decimal(text, places=2)
    except FieldError:
        return  # refused with a reason: acceptable
    assert parsed == value


def test_parse_decimal_refuses_with_reasons():
    with pytest.raises(FieldError, match="is not a number"):
        parse_decimal("12,34.5")
    with pytest.raises(FieldError, match="more than 2 decimal places"):
        parse_decimal("1.234", places=2)
    with pytest.raises(FieldError, match="not a finite number"):
        parse_decimal("NaN")
    assert parse_decimal("1,100.04", places=2, multiply=1000000) == Decimal("1100040000.00")


@settings(max_examples=300, deadline=None, database=None)
@given(st.dates(min_value=dt.date(1000, 1, 1)))
def test_parse_date_accepts_strftime_iso_dates(day):
    # (Years below 1000: glibc's strftime('%Y') does not pad them to 4 digits, which strptime cannot read
    # back; that is Python/libc behaviour, covered by the isoformat test below.)
    text = day.strftime("%Y-%m-%d")
    assert parse_date(text, ["%Y-%m-%d"]) == day
    assert parse_date(f" {text} ", ["%Y-%m-%d"]) == day
    assert parse_date(text, ["%d/%m/%Y", "%Y-%m-%d"]) == day


@settings(max_examples=200, deadline=None, database=None)
@given(st.dates())
def test_parse_date_accepts_every_isoformat_date(day):
    assert parse_date(day.isoformat(), ["%Y-%m-%d"]) == day


def test_parse_date_refuses_with_the_format():
    with pytest.raises(FieldError) as exc:
        parse_date("2017-13-45", ["%Y-%m-%d"])
    assert str(exc.value) == "'2017-13-45' is not a date in format %Y-%m-%d"
    assert parse_date(dt.datetime(2017, 3, 1, 10, 30), ["%Y-%m-%d"]) == dt.date(2017, 3, 1)
