"""Normalisation functions shared by quality, standardisation and dedup (no database)."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from revcast.dataio.normalize import (
    ENGLISH_LEGAL_FORMS,
    company_key,
    email_normalise,
    name_key,
    phone_e164,
    uscc_compact,
    uscc_valid,
)

# ---------------------------------------------------------------------------------------------------
# company_key


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("阿里巴巴（中国）有限公司", "阿里巴巴中国"),
        ("阿里巴巴(中国)有限公司", "阿里巴巴中国"),
        ("阿里巴巴【中国】有限公司", "阿里巴巴中国"),
        ("阿里巴巴 [中国] 有限公司", "阿里巴巴中国"),
        ("小米科技有限责任公司", "小米科技"),
        ("中国平安保险（集团）股份有限公司", "中国平安保险"),
        ("华为技术有限公司", "华为技术"),
        ("华为技术股份公司", "华为技术"),
        ("华为Co., Ltd.", "华为"),
        ("Acme Co., Ltd.", "acme"),
        ("ACME CO LTD", "acme"),
        ("ＡＣＭＥ　Ｃｏ．，Ｌｔｄ．", "acme"),
        ("Acme Inc.", "acme"),
        ("Acme Incorporated", "acme"),
        ("Acme Corp.", "acme"),
        ("Acme Corporation", "acme"),
        ("Acme LLC", "acme"),
        ("Acme L.L.C.", "acme"),
        ("Acme GmbH", "acme"),
        ("Acme S.A.", "acme"),
        ("Acme PLC", "acme"),
        ("Acme Limited", "acme"),
        ("Acme Ltd (Beijing)", "acmebeijing"),
        ("Acme (Beijing) Ltd", "acmebeijing"),
        ("  Big   Data-Solutions & Co. ", "bigdatasolutions"),
        # A name that is only a legal form keeps its words instead of an empty key.
        ("Limited", "limited"),
        ("公司", "公司"),
        ("", ""),
    ],
)
def test_company_key_examples(name, key):
    assert company_key(name) == key


def test_company_key_none_is_empty():
    assert company_key(None) == ""


def test_company_key_keeps_different_companies_apart():
    assert company_key("华为技术有限公司") != company_key("华为终端有限公司")
    assert company_key("Acme Ltd") != company_key("Acme Labs Ltd")
    # A branch (分公司) is not its head office.
    assert company_key("华为技术有限公司北京分公司") != company_key("华为技术有限公司")


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_company_key_is_idempotent(name):
    key = company_key(name)
    assert company_key(key) == key


def _to_full_width(text: str) -> str:
    """ASCII -> full-width forms (U+FF01..U+FF5E, ideographic space), written out rather than via NFKC."""
    out = []
    for ch in text:
        if ch == " ":
            out.append("\u3000")
        elif "!" <= ch <= "~":
            out.append(chr(ord(ch) + 0xFEE0))
        else:
            out.append(ch)
    return "".join(out)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E)))
def test_full_width_and_half_width_share_a_key(name):
    full = _to_full_width(name)
    assert full != name or not re.search(r"[!-~ ]", name)
    assert company_key(full) == company_key(name)


_LATIN_WORD = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=2, max_size=10
)
# Chinese words without the characters of legal forms (有限责任股份集团公司).
_CJK_WORD = st.text(
    alphabet="华为腾讯阿里巴小米京东百度北上海深圳科技术网络中国金融电子信息", min_size=1, max_size=6
)
_ENGLISH_SUFFIXES = [
    " Co., Ltd.",
    " Co. Ltd",
    " Ltd.",
    " Ltd",
    " Limited",
    " Inc.",
    " Inc",
    " Incorporated",
    " Corp.",
    " Corporation",
    " LLC",
    " L.L.C.",
    " GmbH",
    " S.A.",
    " PLC",
    " Co",
    " Company",
    ", Inc.",
]
_CHINESE_SUFFIXES = [
    "有限公司",
    "有限责任公司",
    "股份有限公司",
    "集团有限公司",
    "集团",
    "公司",
    "（集团）股份有限公司",
]


def _plain(text: str) -> str:
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", text).casefold())


@settings(max_examples=200, deadline=None)
@given(st.lists(_LATIN_WORD, min_size=1, max_size=4), st.sampled_from(_ENGLISH_SUFFIXES))
def test_english_legal_forms_are_ignored(words, suffix):
    base = " ".join(words)
    # The base itself must not contain legal-form words, or its key already lacks them.
    assume(not any(w.casefold() in ENGLISH_LEGAL_FORMS for w in words))
    assert company_key(base + suffix) == company_key(base) == _plain(base)
    assert company_key(base.upper() + suffix.upper()) == company_key(base)


@settings(max_examples=200, deadline=None)
@given(_CJK_WORD, st.sampled_from(_CHINESE_SUFFIXES))
def test_chinese_legal_forms_are_ignored(base, suffix):
    assert company_key(base + suffix) == company_key(base) == base
    assert company_key(_to_full_width(" ") + base + suffix + " ") == base


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.one_of(_LATIN_WORD, _CJK_WORD), min_size=2, max_size=4),
    st.sampled_from(["（）", "()", "【】", "[]"]),
)
def test_brackets_go_and_their_content_stays(words, brackets):
    assume(not any(w.casefold() in ENGLISH_LEGAL_FORMS for w in words))
    opening, closing = brackets
    spaced = " ".join(words)
    bracketed = words[0] + opening + " ".join(words[1:]) + closing
    assert company_key(bracketed) == company_key(spaced)
    # Nothing inside the brackets is lost, only the bracket characters.
    assert all(_plain(w) in company_key(bracketed) for w in words)


# ---------------------------------------------------------------------------------------------------
# name_key


def test_name_key():
    assert name_key("Ｊｏｈｎ ", "O'Brien") == "johnobrien"
    assert name_key("John", "O Brien") == name_key("JOHN", "O'BRIEN")
    assert name_key("三", "张") == "三张"
    assert name_key(None, "张") == "张"
    assert name_key("", "") == ""


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=20), st.text(max_size=20))
def test_name_key_has_no_spaces_or_punctuation_and_is_stable(first, last):
    key = name_key(first, last)
    assert not re.search(r"[\W_]", key)
    assert name_key(key, "") == key


# ---------------------------------------------------------------------------------------------------
# phone_e164


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("13800138000", "CN", "+8613800138000"),
        ("+86 138-0013-8000", "CN", "+8613800138000"),
        ("0086 138 0013 8000", "CN", "+8613800138000"),
        ("１３８００１３８０００", "CN", "+8613800138000"),  # full-width digits
        ("010-65529988", "CN", "+861065529988"),  # Beijing fixed line
        ("(010) 6552 9988", "CN", "+861065529988"),
        ("138 0013 8000 ext. 12", "CN", "+8613800138000"),  # E.164 has no extension
        ("(201) 555-0123", "US", "+12015550123"),
        ("+1 201-555-0123", "CN", "+12015550123"),  # an international number ignores the region
        ("020 7946 0958", "GB", "+442079460958"),
        ("020 7946 0958", "gb", "+442079460958"),
        ("12345", "CN", None),
        ("138001380001", "CN", None),  # one digit too many
        ("not a phone", "CN", None),
        ("", "CN", None),
        ("   ", "CN", None),
    ],
)
def test_phone_e164(raw, region, expected):
    assert phone_e164(raw, region) == expected


def test_phone_e164_defaults_to_china_and_accepts_none():
    assert phone_e164("13800138000") == "+8613800138000"
    assert phone_e164(None) is None


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from(["130", "131", "135", "136", "138", "139", "150", "158", "186", "188"]),
    st.text(alphabet="0123456789", min_size=8, max_size=8),
    st.sampled_from(["", " ", "-"]),
    st.sampled_from(["", "+86 ", "0086", "+86-"]),
)
def test_chinese_mobile_formats_agree(prefix, rest, sep, country):
    digits = prefix + rest
    written = country + sep.join([digits[:3], digits[3:7], digits[7:]])
    e164 = phone_e164(written, "CN")
    assert e164 == "+86" + digits
    assert phone_e164(e164, "US") == e164  # E.164 is stable and region-independent


# ---------------------------------------------------------------------------------------------------
# email_normalise


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Foo.Bar@Example.COM ", "Foo.Bar@example.com"),
        ("foo＠example.com", "foo@example.com"),  # full-width at sign
        ("ｆｏｏ@ｅｘａｍｐｌｅ.com", "foo@example.com"),
        ("张三@例子.中国", "张三@例子.中国"),
        ("foo", None),
        ("foo@", None),
        ("@example.com", None),
        ("foo@bar", None),  # no dot in the domain
        ("a b@example.com", None),
        ("foo@example..com", None),
        ("foo@@example.com", None),
        ("x@x.test", None),  # special-use domain
        ("", None),
        (None, None),
    ],
)
def test_email_normalise(raw, expected):
    assert email_normalise(raw) == expected


@settings(max_examples=100, deadline=None)
@given(st.emails())
def test_email_normalise_is_idempotent(address):
    normal = email_normalise(address)
    if normal is not None:
        assert email_normalise(normal) == normal
        assert normal.split("@")[1] == normal.split("@")[1].lower()


# ---------------------------------------------------------------------------------------------------
# Unified social credit code (GB 32100-2015)

_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters: no I, O, S, V, Z
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def _gb32100_check_char(first17: str) -> str:
    """The check character as GB 32100-2015 defines it, written from the standard (the test's own oracle)."""
    total = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_ALPHABET[(31 - total % 31) % 31]


# Codes printed on business licences and in the national enterprise credit publicity system.
PUBLISHED_USCC = [
    "91110108551385082Q",  # 小米科技有限责任公司
    "914403001922038216",  # 华为技术有限公司
    "91440300708461136T",  # 深圳市腾讯计算机系统有限公司
    "91330100716105852F",  # 阿里巴巴（中国）有限公司
    "91110000802100433B",
    "91110000600037341L",  # the example of the OECD's TIN sheet for China
]


@pytest.mark.parametrize("code", PUBLISHED_USCC)
def test_published_codes_are_valid(code):
    assert _gb32100_check_char(code[:17]) == code[17]  # the oracle agrees with the published code
    assert uscc_valid(code)
    assert uscc_valid(code.lower())
    assert uscc_valid(" " + code[:6] + "-" + code[6:] + " ")
    assert uscc_valid(_to_full_width(code))


@pytest.mark.parametrize(
    "code",
    [
        "91110108551385082A",  # Xiaomi's code with a wrong check character (Q expected)
        "914403001922038217",  # Huawei's with 7 instead of 6
        "91440300708461136U",
        "9111010855138508Q",  # 17 characters
        "91110108551385082QQ",  # 19 characters
        "9A110108551385082Q",  # letter among the first eight (digits only there)
        "91110108551385I82Q",  # I is not in the alphabet
        "",
        "not a code",
    ],
)
def test_invalid_codes(code):
    assert not uscc_valid(code)


def test_uscc_valid_accepts_none():
    assert not uscc_valid(None)
    assert uscc_compact(None) == ""


def test_uscc_compact():
    assert uscc_compact(" 9111-0108 5513 85082q") == "91110108551385082Q"
    assert uscc_compact("９１１１０１０８５５１３８５０８２Ｑ") == "91110108551385082Q"


@settings(max_examples=200, deadline=None)
@given(
    st.text(alphabet="0123456789", min_size=8, max_size=8),
    st.text(alphabet=_USCC_ALPHABET, min_size=9, max_size=9),
)
def test_uscc_check_digit_agrees_with_the_standard(head, body):
    first17 = head + body
    right = _gb32100_check_char(first17)
    assert uscc_valid(first17 + right)
    for wrong in _USCC_ALPHABET:
        if wrong != right:
            assert not uscc_valid(first17 + wrong)
