"""Value-level rules: given one stored value, say what it should become, or why it cannot be fixed.

No database access. Each rule returns None when the value is fine as stored, a ``Verdict`` with ``new`` set
for a fix, or a ``Verdict`` with ``new=None`` for a problem that is reported and left alone (an invalid e-mail
address is not guessed at).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _
from stdnum import exceptions as stdnum_errors
from stdnum.cn import uscc as stdnum_uscc

from revcast.dataio.normalize import email_normalise, phone_e164, uscc_compact


@dataclass(frozen=True)
class Verdict:
    new: Any
    reason: str

    @property
    def is_problem(self) -> bool:
        return self.new is None


# ------------------------------------------------------------------------------------------- phones


def phone(value: str, region: str) -> Verdict | None:
    if not value or not value.strip():
        return None
    e164 = phone_e164(value, region)
    if e164 is None:
        return Verdict(
            None,
            _("not a valid phone number (numbers without a country code read as %(region)s)")
            % {"region": region},
        )
    if e164 == value:
        return None
    return Verdict(e164, _("phone number in E.164 form"))


# ------------------------------------------------------------------------------------------- e-mail


def email(value: str) -> Verdict | None:
    if not value or not value.strip():
        return None
    normal = email_normalise(value)
    if normal is None:
        return Verdict(None, _("not a valid e-mail address; left as it is"))
    if normal == value:
        return None
    return Verdict(normal, _("e-mail address normalised (spaces, domain case, full-width characters)"))


# ------------------------------------------------------------------------------------------- currency

CURRENCY_CODE = re.compile(r"[A-Z]{3}")
# Names and signs people type for a currency. "¥" and "$" are left out: each stands for several currencies.
CURRENCY_ALIASES = {
    "RMB": "CNY",
    "人民币": "CNY",
    "元": "CNY",
    "美元": "USD",
    "US$": "USD",
    "USD$": "USD",
    "欧元": "EUR",
    "€": "EUR",
    "港币": "HKD",
    "港元": "HKD",
    "HK$": "HKD",
    "日元": "JPY",
    "英镑": "GBP",
    "£": "GBP",
}


def currency(value: str, *, has_amount: bool, default: str) -> Verdict | None:
    text = unicodedata.normalize("NFKC", value or "").strip()
    if not text:
        if not has_amount:
            return None
        return Verdict(
            default, _("amount without a currency: the default currency %(code)s") % {"code": default}
        )
    code = CURRENCY_ALIASES.get(text.upper(), CURRENCY_ALIASES.get(text, text.upper()))
    if not CURRENCY_CODE.fullmatch(code):
        return Verdict(None, _("not a three-letter ISO 4217 currency code"))
    if code == value:
        return None
    return Verdict(code, _("currency as an upper-case ISO 4217 code"))


# ------------------------------------------------------------------------------------------- dates

_YEAR_FIRST = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
_COMPACT_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")
_ISO_DATETIME = re.compile(r"(\d{4}-\d{2}-\d{2})[T ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?")


def date(value: Any) -> Verdict | None:
    """Custom date fields are stored as ISO dates (YYYY-MM-DD); values written otherwise become ISO when the
    year comes first. Day-first and month-first dates are ambiguous (01/02/2024) and are reported."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        return Verdict(None, _("not a date (YYYY-MM-DD)"))
    text = unicodedata.normalize("NFKC", value).strip()
    try:
        if dt.date.fromisoformat(text).isoformat() == value:
            return None
    except ValueError:
        pass
    parts = None
    if m := _ISO_DATETIME.fullmatch(text):
        parts = tuple(int(p) for p in m.group(1).split("-"))
    elif (m := _YEAR_FIRST.fullmatch(text)) or (m := _COMPACT_DATE.fullmatch(text)):
        parts = (int(m.group(1)), int(m.group(2)), int(m.group(3)))
    if parts is None:
        return Verdict(None, _("not a date with the year first; cannot tell the day from the month"))
    try:
        day = dt.date(*parts)
    except ValueError:
        return Verdict(None, _("not a calendar date"))
    return Verdict(day.isoformat(), _("date as YYYY-MM-DD"))


# ------------------------------------------------------------------------------------------- USCC


def uscc(value: Any) -> Verdict | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    code = uscc_compact(str(value))
    try:
        stdnum_uscc.validate(code)
    except stdnum_errors.InvalidLength:
        return Verdict(None, _("unified social credit code must have 18 characters"))
    except stdnum_errors.InvalidChecksum:
        return Verdict(None, _("unified social credit code has a wrong check character"))
    except stdnum_errors.ValidationError:
        return Verdict(None, _("unified social credit code has characters not allowed where they are"))
    if code == value:
        return None
    return Verdict(code, _("unified social credit code without spaces, upper case"))


# ------------------------------------------------------------------------------------------- names

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]")
_SPACES = re.compile(r"\s+")
# Full-width letters and digits (U+FF10-FF19, FF21-FF3A, FF41-FF5A) are never right in a name.
_WIDE_ALNUM = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F) if chr(c - 0xFEE0).isalnum()}
# Full-width punctuation is correct Chinese typography (（）、，), so it is kept in names with Chinese in them.
_WIDE_PUNCT = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F) if c not in _WIDE_ALNUM}


def _squeeze(text: str) -> str:
    return _SPACES.sub(" ", text).strip()  # \s covers the ideographic space U+3000 and no-break spaces


def name(value: str) -> Verdict | None:
    """Spaces trimmed and collapsed, full-width letters and digits half-width; full-width punctuation becomes
    half-width only in names without Chinese characters. What the name says does not change."""
    if not value:
        return None
    narrow = value.translate(_WIDE_ALNUM)
    if not _CJK.search(narrow):
        narrow = narrow.translate(_WIDE_PUNCT)
    text = _squeeze(narrow)
    if text == value or not text:
        return None
    reasons = []
    if narrow != value:
        reasons.append(_("full-width characters to half-width"))
    if _squeeze(value) != value:
        reasons.append(_("spaces trimmed and collapsed"))
    return Verdict(text, "; ".join(reasons))
