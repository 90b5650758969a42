"""Matching keys: the columns the blocking rules and comparisons read, made once per frame.

Every key function maps a pandas Series of raw values to a Series of strings, ``""`` meaning missing. The
expensive normalisers (company names, phones) run once per distinct value, not once per row: a CRM repeats
values, and a million-row frame needs that. Keys are for matching only and never stored.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import unicodedata
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from functools import partial

import pandas as pd
import phonenumbers

from revcast.dataio.normalize import (
    CHINESE_LEGAL_FORMS,
    ENGLISH_LEGAL_FORMS,
    company_key,
    name_key,
    nfkc_casefold,
    phone_e164,
)

_NON_DIGIT = re.compile(r"\D+")
_NON_ALNUM = re.compile(r"[\W_]+")
COUNTRY_SYNONYMS = {
    "中国": "cn", "china": "cn", "cn": "cn", "chn": "cn", "prc": "cn", "中华人民共和国": "cn",
    "peoplesrepublicofchina": "cn", "中国大陆": "cn", "unitedstates": "us", "usa": "us", "us": "us",
    "美国": "us", "unitedstatesofamerica": "us", "unitedkingdom": "gb", "uk": "gb", "gb": "gb", "英国": "gb",
    "greatbritain": "gb", "germany": "de", "deutschland": "de", "de": "de", "德国": "de", "singapore": "sg",
    "sg": "sg", "新加坡": "sg", "hongkong": "hk", "hk": "hk", "香港": "hk", "japan": "jp", "jp": "jp", "日本": "jp",
}
_PLACE_SUFFIX = re.compile(r"(市|省|区|县|city)$")
PLACES = ["北京", "天津", "上海", "重庆", "河北", "山西", "辽宁", "吉林", "黑龙江", "江苏", "浙江", "安徽", "福建", "江西", "山东", "河南", "湖北", "湖南", "广东", "海南", "四川", "贵州", "云南", "陕西", "甘肃", "青海", "台湾", "内蒙古", "广西", "西藏", "宁夏", "新疆", "香港", "澳门", "中国", "深圳", "广州", "杭州", "成都", "武汉", "南京", "苏州", "西安", "长沙", "青岛", "厦门", "宁波", "无锡", "郑州", "济南", "合肥", "大连", "沈阳", "哈尔滨", "长春", "福州", "昆明", "南宁", "贵阳", "南昌", "太原", "石家庄", "兰州", "东莞", "佛山", "珠海", "温州", "常州", "徐州", "烟台", "泉州", "惠州", "嘉兴", "绍兴", "台州", "金华", "扬州", "南通", "镇江", "潍坊", "洛阳", "呼和浩特", "乌鲁木齐", "银川", "西宁", "拉萨", "海口", "三亚"]
"""Provinces and large cities: a Chinese company name often starts with one (北京华信科技) or carries one in
brackets (华信科技（北京）), and the same company is entered with and without it."""
_PLACE = re.compile("(" + "|".join(sorted(PLACES, key=len, reverse=True)) + ")(省|市|自治区)?")
_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]+|[^\W_{_CJK}]+")


PARALLEL_FROM = 100_000
"""Distinct values from which a slow normaliser (phones, company names) runs in one process per core."""


def _apply(fn: Callable[[str], str], values: list[str]) -> list[str]:
    return [fn(v) if v else "" for v in values]


def _per_distinct(values: pd.Series, fn: Callable[[str], str], parallel: bool = False) -> pd.Series:
    """``fn`` applied once per distinct value (missing values become "").

    With ``parallel`` and many distinct values, the values are split over one forked worker process per core
    (where the platform forks; the workers only run ``fn`` over strings and hand the keys back, so the
    database connections they inherit are never used). Parsing 700,000 phone numbers with phonenumbers
    takes about 20 s in one process. ``spawn``/``forkserver`` would re-import the caller's main module, which
    a script without a ``__main__`` guard does not survive."""
    text = values.fillna("").astype(str)
    distinct = pd.unique(text).tolist()
    cores = os.cpu_count() or 1
    if parallel and cores > 1 and len(distinct) >= PARALLEL_FROM and "fork" in multiprocessing.get_all_start_methods():
        size = -(-len(distinct) // (cores * 4))
        chunks = [distinct[i:i + size] for i in range(0, len(distinct), size)]
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=cores, mp_context=context) as pool:
            keys = [k for part in pool.map(partial(_apply, fn), chunks) for k in part]
    else:
        keys = _apply(fn, distinct)
    return text.map(dict(zip(distinct, keys, strict=True)))


def company(values: pd.Series) -> pd.Series:
    return _per_distinct(values, company_key, parallel=True)


def _phone(raw: str, region: str) -> str:
    """E.164 when the number is valid. Otherwise the digits written the E.164 way (+, country code, no trunk
    0), so that a mistyped or unassigned number still compares with its twin in another format."""
    e164 = phone_e164(raw, region)
    if e164:
        return e164
    text = unicodedata.normalize("NFKC", raw).strip()
    digits = _NON_DIGIT.sub("", text)
    if len(digits) < 5:
        return ""
    if text.startswith("+"):
        return "+" + digits
    if digits.startswith("00"):
        return "+" + digits[2:]
    code = str(phonenumbers.country_code_for_region(region.upper())) if region else ""
    if code and digits.startswith(code) and len(digits) >= 12:
        return "+" + digits
    return "+" + code + digits.lstrip("0")


def _core(name: str) -> str:
    """The name without legal forms and place names, its words sorted: "Trading Raion Inc." and "Raion
    Trading" share it, so do "成都眉峰软件有限公司" and "眉峰软件（成都）". Only for similarity and blocking:
    two companies that differ only by their city share it too, which the other fields must settle."""
    words = []
    for token in _TOKEN.findall(nfkc_casefold(name)):
        if token in ENGLISH_LEGAL_FORMS:
            continue
        for form in CHINESE_LEGAL_FORMS:
            token = token.replace(form, "")
        token = _PLACE.sub("", token)
        if token:
            words.append(token)
    return "".join(sorted(words))


def company_core(values: pd.Series) -> pd.Series:
    return _per_distinct(values, _core, parallel=True)


def phone(values: pd.Series, region: str = "CN") -> pd.Series:
    return _per_distinct(values, partial(_phone, region=region), parallel=True)


def email(values: pd.Series) -> pd.Series:
    """Case-folded, NFKC, trimmed. Matching does not need a validated address, only a comparable one."""
    return _per_distinct(values, lambda raw: nfkc_casefold(raw).strip() if "@" in raw else "")


def place(values: pd.Series) -> pd.Series:
    """Town or address: NFKC, case-folded, no punctuation, without a trailing 市/省/区/县/"city"."""
    return _per_distinct(values, lambda raw: _PLACE_SUFFIX.sub("", _NON_ALNUM.sub("", nfkc_casefold(raw))))


def country(values: pd.Series) -> pd.Series:
    """ISO-like code for the common spellings (中国, China, CN, PRC ...); other values as their plain key."""
    def key(raw: str) -> str:
        plain = _NON_ALNUM.sub("", nfkc_casefold(raw))
        return COUNTRY_SYNONYMS.get(plain, plain)
    return _per_distinct(values, key)


def code(values: pd.Series) -> pd.Series:
    """Identifiers such as a credit code: NFKC, upper case, letters and digits only."""
    return _per_distinct(values, lambda raw: _NON_ALNUM.sub("", unicodedata.normalize("NFKC", raw)).upper())


def text(values: pd.Series) -> pd.Series:
    """Free text such as a deal name: NFKC, case-folded, single spaces."""
    return _per_distinct(values, lambda raw: " ".join(nfkc_casefold(raw).split()))


def person(first: pd.Series, last: pd.Series) -> tuple[pd.Series, pd.Series]:
    """The person's key in both orders (first+last, last+first), for comparisons that forgive a swap."""
    f = first.fillna("").astype(str)
    la = last.fillna("").astype(str)
    straight = pd.Series([name_key(a, b) for a, b in zip(f, la, strict=True)], index=first.index)
    swapped = pd.Series([name_key(b, a) for a, b in zip(f, la, strict=True)], index=first.index)
    return straight, swapped


def identifier(values: pd.Series) -> pd.Series:
    """A foreign key or other id as text ("" when missing), so that blocking and equality treat it alike."""
    out = values.astype("string").fillna("")
    return out.astype(object)


def day_number(values: pd.Series) -> pd.Series:
    """Dates as days since 1970 (float, NaN when missing), for date-distance comparisons."""
    parsed = pd.to_datetime(values.replace("", None), errors="coerce")
    return (parsed - pd.Timestamp("1970-01-01")).dt.days.astype("float64")


def number(values: pd.Series) -> pd.Series:
    return pd.to_numeric(values, errors="coerce").astype("float64")
