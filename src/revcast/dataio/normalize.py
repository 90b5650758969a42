"""Normalisation of names, phones, e-mail addresses and credit codes, shared by quality, standardisation and dedup.

Pure functions, no Django: the dedup engine runs them over millions of rows, and the same key must come out
of the quality report, the standardisation preview and the duplicate finder. Phones, e-mail addresses and
unified social credit codes go through the libraries that specialise in them (phonenumbers, email-validator,
python-stdnum); only the company-name key is ours, because no library knows Chinese and English legal forms.

``company_key`` is for MATCHING only. It never becomes a stored value: a stored name changes only when an
admin applies an explicit standardisation fix.
"""

from __future__ import annotations

import re
import unicodedata

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from stdnum.cn import uscc as _uscc

__all__ = [
    "CHINESE_LEGAL_FORMS",
    "ENGLISH_LEGAL_FORMS",
    "company_key",
    "email_normalise",
    "name_key",
    "nfkc_casefold",
    "phone_e164",
    "uscc_compact",
    "uscc_valid",
]

# Longest first, so 股份有限公司 goes as a whole rather than leaving 股份 behind after 有限公司.
CHINESE_LEGAL_FORMS: tuple[str, ...] = tuple(
    sorted(
        ("股份有限公司", "有限责任公司", "有限公司", "股份公司", "集团", "公司"),
        key=len,
        reverse=True,
    )
)
# Single words (after case folding and splitting on punctuation, "Co., Ltd." is "co" "ltd").
ENGLISH_LEGAL_FORMS: frozenset[str] = frozenset(
    {
        "co",
        "company",
        "corp",
        "corporation",
        "inc",
        "incorporated",
        "ltd",
        "limited",
        "llc",
        "llp",
        "plc",
        "gmbh",
        "sa",
        "pty",
    }
)
# Legal forms written with dots between single letters ("S.A.", "L.L.C."): they split into letters.
_LETTER_LEGAL_FORMS: tuple[tuple[str, ...], ...] = (("l", "l", "c"), ("s", "a"))

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff\U00030000-\U0003134f"
# Runs of CJK ideographs, or runs of other letters/digits: "华为Co" is two tokens, "华为" and "co".
_TOKEN = re.compile(rf"[{_CJK}]+|[^\W_{_CJK}]+")
_NON_ALNUM = re.compile(r"[\W_]+")
_MAX_PASSES = 8


def nfkc_casefold(text: str) -> str:
    """NFKC (full-width letters, digits and brackets become half-width), case-folded, NFKC again.

    Case folding can produce characters that NFKC composes differently ("ß" -> "ss" is fine, some
    compatibility characters are not), so the second NFKC keeps the result stable under repetition.
    """
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


def _drop_letter_forms(tokens: list[str]) -> list[str]:
    """Drop trailing dotted legal forms ("s.a.", "l.l.c.") that split into single letters."""
    changed = True
    while changed:
        changed = False
        for form in _LETTER_LEGAL_FORMS:
            n = len(form)
            if len(tokens) > n and tuple(tokens[-n:]) == form:
                tokens = tokens[:-n]
                changed = True
    return tokens


def _company_key_pass(name: str) -> str:
    tokens = _TOKEN.findall(nfkc_casefold(name))
    plain = "".join(tokens)
    kept = _drop_letter_forms([t for t in tokens if t not in ENGLISH_LEGAL_FORMS])
    joined = "".join(kept)
    for form in CHINESE_LEGAL_FORMS:
        joined = joined.replace(form, "")
    # A name that is nothing but a legal form ("Limited", "公司") keeps its words: an empty key would
    # make every such name a duplicate of every other.
    return joined or plain


def company_key(name: str | None) -> str:
    """Matching key for a company name.

    Full-width and half-width forms compare equal (NFKC), case is folded, bracket characters such as
    （）()【】[] and all punctuation and spaces go (the bracketed words stay: "阿里巴巴（中国）有限公司" and
    "阿里巴巴中国" share a key), and legal forms are ignored wherever they appear: 股份有限公司, 有限责任公司,
    有限公司, 股份公司, 集团, 公司 and Co., Company, Corp., Corporation, Inc., Incorporated, Ltd., Limited,
    LLC, LLP, PLC, GmbH, S.A., SA, Pty.

    The function is applied until the key stops changing, so ``company_key(company_key(x)) == company_key(x)``
    holds for every string, even where dropping spaces joins letters into something that reads as a legal
    form.
    """
    if not name:
        return ""
    key = _company_key_pass(name)
    for _ in range(_MAX_PASSES):
        again = _company_key_pass(key)
        if again == key:
            break
        key = again
    return key


def name_key(first: str | None, last: str | None) -> str:
    """Matching key for a person: first then last name, NFKC, case-folded, without spaces or punctuation.

    Callers comparing names that may have been entered the other way round also compare
    ``name_key(last, first)``.
    """
    return _NON_ALNUM.sub("", nfkc_casefold(f"{first or ''}{last or ''}"))


def phone_e164(raw: str | None, region: str = "CN") -> str | None:
    """The number in E.164 form (+8613800138000), or None when it is not a valid number.

    ``region`` is the ISO 3166 country assumed for numbers written without a country code (the setting
    REVCAST_PHONE_REGION is the usual source). An extension, if any, is not part of E.164 and is dropped.
    """
    if raw is None:
        return None
    text = unicodedata.normalize("NFKC", str(raw)).strip()
    if not text:
        return None
    try:
        number = phonenumbers.parse(text, region.upper() if region else None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def email_normalise(raw: str | None) -> str | None:
    """The address as email-validator normalises it (domain lower-cased, IDNA/Unicode normalised), or None.

    No DNS look-up (check_deliverability=False): standardisation must work offline and in tests. The local
    part keeps its case, as RFC 5321 allows a server to treat it case-sensitively; matching casefolds it.
    Surrounding spaces and full-width characters (＠, full-width letters) are normalised first.
    """
    if raw is None:
        return None
    text = unicodedata.normalize("NFKC", str(raw)).strip()
    if not text:
        return None
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError:
        return None


def uscc_compact(raw: str | None) -> str:
    """The unified social credit code without spaces or hyphens, upper case, full-width digits half-width."""
    if raw is None:
        return ""
    return str(_uscc.compact(unicodedata.normalize("NFKC", str(raw))))


def uscc_valid(raw: str | None) -> bool:
    """Whether the unified social credit code (统一社会信用代码) has a valid format and check digit (GB 32100-2015)."""
    code = uscc_compact(raw)
    return bool(code) and bool(_uscc.is_valid(code))
