"""Test sets with KNOWN duplicates, deterministic for a seed, for the benchmark and the tests.

Each generator returns a data frame in the engine's column layout (see ``specs``) plus an ``entity`` column:
records with the same entity are duplicates of each other, all others are not. The corruptions are the ones a
CRM meets: typos, transposed characters, first and last names swapped, missing values, Chinese company names
with and without their legal form (有限公司, 有限责任公司, 股份有限公司 ...), full-width and half-width forms,
English legal suffixes (Co., Ltd., Inc. ...), phone numbers in many formats, e-mail addresses in another case.
The sets also hold *hard negatives*: different companies that share a brand (another city or trade), common
Chinese and English person names shared by different people, and repeat deals of one account for one product.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

BRAND_CHARS = (
    "华信达通宏泰安康瑞恒盛丰鑫源海天润明德华中新兴金隆昌富东方宝联创嘉正和汇豪博远科佳美凯力永利鼎晟辉"
    "光荣祥成国际万亿星云启航卓越诚益腾飞顺捷鹏程凌峰锦绣弘毅志远立信仁合众诺雅思维智慧嘉禾华彩宏图伟业"
    "长江黄河泰山峨眉碧桂龙凤麒麟青松白云紫金银河晨曦朝阳旭日春秋冬夏楚汉唐宋元明清蓝海红星绿洲"
)
TRADES = (
    "科技", "贸易", "电子", "机械", "实业", "投资", "物流", "医药", "化工", "建设", "信息技术", "网络科技",
    "生物科技", "电气", "食品", "服饰", "文化传媒", "环保", "能源", "汽车配件", "软件", "咨询", "材料", "装饰工程",
)
CN_FORMS = ("有限公司", "有限责任公司", "股份有限公司", "集团有限公司", "有限公司", "有限公司")
CITIES = (
    ("北京", "北京市"), ("上海", "上海市"), ("深圳", "深圳市"), ("广州", "广州市"), ("杭州", "杭州市"),
    ("成都", "成都市"), ("武汉", "武汉市"), ("南京", "南京市"), ("苏州", "苏州市"), ("天津", "天津市"),
    ("重庆", "重庆市"), ("西安", "西安市"), ("长沙", "长沙市"), ("青岛", "青岛市"), ("厦门", "厦门市"),
    ("宁波", "宁波市"), ("无锡", "无锡市"), ("郑州", "郑州市"), ("济南", "济南市"), ("合肥", "合肥市"),
)
EN_CITIES = ("London", "Berlin", "Singapore", "Hong Kong", "New York", "Sydney", "Tokyo", "Paris", "Toronto",
             "Chicago", "Boston", "Munich", "Dubai", "Seoul", "Austin", "Denver", "Oslo", "Dublin")
SYLLABLES = ("ac", "bel", "cor", "dan", "el", "fin", "gal", "hex", "ion", "jor", "kin", "lum", "mar", "nov",
             "or", "pax", "quin", "ros", "sol", "tek", "ul", "ven", "wex", "xan", "yor", "zen", "tri", "vol",
             "stra", "plex", "tron", "dyn", "ver", "lin", "mo", "ra", "si", "to", "na", "qu")
EN_TRADES = ("Systems", "Trading", "Electronics", "Logistics", "Foods", "Energy", "Capital", "Robotics",
             "Software", "Materials", "Partners", "Industries", "Labs", "Media", "")
EN_FORMS = (("Co., Ltd.", "Co. Ltd", "Company Limited", "Co Ltd", "CO., LTD."), ("Inc.", "Inc", "Incorporated"),
            ("Ltd.", "Ltd", "Limited"), ("Corp.", "Corporation", "Corp"), ("LLC", "L.L.C."), ("GmbH",))
COUNTRIES_CN = ("China", "中国", "CN", "China", "China")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红玉梅晓东文斌宇浩然子涵欣怡一诺梓轩"
EN_FIRST = ("James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "William", "Elizabeth",
            "David", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen",
            "Daniel", "Nancy", "Matthew", "Lisa", "Anthony", "Betty", "Mark", "Margaret", "Paul", "Sandra",
            "Steven", "Ashley", "Andrew", "Emily", "Kenneth", "Donna", "Joshua", "Michelle", "Kevin", "Carol")
EN_LAST = ("Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
           "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
           "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson",
           "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores")
MAIL_HOSTS = ("qq.com", "163.com", "126.com", "gmail.com", "outlook.com", "sina.com", "foxmail.com")
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
PRODUCTS = 12
OWNERS = 40

FULL_WIDTH = {i: i + 0xFEE0 for i in range(0x21, 0x7F)} | {0x20: 0x3000}


def _full_width(text: str) -> str:
    return text.translate(FULL_WIDTH)


def _pick(rng: np.random.Generator, seq: Any) -> Any:
    return seq[int(rng.integers(len(seq)))]


def _extra_counts(rng: np.random.Generator, n: int, dup_share: float) -> list[int]:
    """How many duplicates each entity gets, so that the records add up to ``n``: most get none."""
    counts: list[int] = []
    total = 0
    while total < n:
        extra = 0
        if rng.random() < dup_share:
            extra = int(rng.choice([1, 1, 1, 2, 2, 3]))
        extra = min(extra, n - total - 1)
        counts.append(extra)
        total += 1 + extra
    return counts


# ---------------------------------------------------------------------------------------- corruptions


def _typo(rng: np.random.Generator, text: str, alphabet: str) -> str:
    """One edit: substitute, delete, insert or transpose a character (never the whole string)."""
    if len(text) < 3:
        return text
    i = int(rng.integers(1, len(text) - 1))
    op = int(rng.integers(4))
    if op == 0:
        return text[:i] + _pick(rng, alphabet) + text[i + 1:]
    if op == 1:
        return text[:i] + text[i + 1:]
    if op == 2:
        return text[:i] + _pick(rng, alphabet) + text[i:]
    return text[:i - 1] + text[i] + text[i - 1] + text[i + 1:]


def _phone_format(rng: np.random.Generator, digits: str) -> str:
    """The same number as people type it: spaces, dashes, +86, 0086, brackets around an area code."""
    if digits.startswith("1"):  # mobile
        style = int(rng.integers(6))
        return (digits, f"+86 {digits[:3]} {digits[3:7]} {digits[7:]}", f"{digits[:3]}-{digits[3:7]}-{digits[7:]}",
                f"0086{digits}", f"+86-{digits}", f"{digits[:3]} {digits[3:7]} {digits[7:]}")[style]
    area, local = digits[:3], digits[3:]
    style = int(rng.integers(5))
    return (f"{area}-{local}", f"({area}){local}", f"+86 {area[1:]} {local}", f"{area} {local[:4]} {local[4:]}",
            f"{area}{local}")[style]


def _phone(rng: np.random.Generator) -> str:
    if rng.random() < 0.7:
        return "1" + _pick(rng, "3456789") + "".join(str(d) for d in rng.integers(0, 10, 9))
    return "0" + str(int(rng.integers(10, 99))) + "".join(str(d) for d in rng.integers(0, 10, 8))


def _uscc(rng: np.random.Generator) -> str:
    from stdnum.cn import uscc

    body = "91" + "".join(str(d) for d in rng.integers(0, 10, 6)) + "".join(
        _pick(rng, USCC_ALPHABET) for _ in range(9))
    return body + uscc.calc_check_digit(body)


def _word(rng: np.random.Generator, parts: int) -> str:
    return "".join(_pick(rng, SYLLABLES) for _ in range(parts))


# ---------------------------------------------------------------------------------------- accounts


def _account_entity(rng: np.random.Generator, sibling_of: dict | None) -> dict:
    chinese = rng.random() < 0.7 if sibling_of is None else sibling_of["chinese"]
    if chinese:
        brand = "".join(_pick(rng, BRAND_CHARS) for _ in range(int(rng.integers(2, 4))))
        city = CITIES[int(rng.integers(len(CITIES)))]
        trade = _pick(rng, TRADES)
        if sibling_of is not None:  # same brand, another trade or city: a different company
            brand = sibling_of["brand"]
            if rng.random() < 0.5:
                trade = _pick(rng, [t for t in TRADES if t != sibling_of["trade"]])
            else:
                city = _pick(rng, [c for c in CITIES if c != sibling_of["city"]])
        entity = {"chinese": True, "brand": brand, "trade": trade, "city": city,
                  "with_city": rng.random() < 0.5, "form": _pick(rng, CN_FORMS),
                  "location": city[int(rng.integers(2))], "country": "China"}
    else:
        brand = (_word(rng, int(rng.integers(2, 4))).capitalize() if sibling_of is None else sibling_of["brand"])
        trade = _pick(rng, EN_TRADES)
        if sibling_of is not None:
            trade = _pick(rng, [t for t in EN_TRADES if t != sibling_of["trade"]])
        forms = EN_FORMS[int(rng.integers(len(EN_FORMS)))]
        entity = {"chinese": False, "brand": brand, "trade": trade, "forms": forms, "form": forms[0],
                  "location": _pick(rng, EN_CITIES), "country": _pick(rng, ("United Kingdom", "Germany",
                                                                             "Singapore", "United States"))}
    entity["phone"] = _phone(rng) if rng.random() < 0.8 else ""
    host = _word(rng, 3) + _pick(rng, (".com", ".cn", ".com.cn"))
    entity["email"] = f"{_pick(rng, ('info', 'sales', 'contact', 'service', _word(rng, 2)))}@{host}" \
        if rng.random() < 0.6 else ""
    entity["uscc"] = _uscc(rng) if chinese and rng.random() < 0.5 else ""
    return entity


def _account_name(e: dict, form: str, with_city: bool) -> str:
    if e["chinese"]:
        prefix = e["city"][0] if with_city else ""
        return f"{prefix}{e['brand']}{e['trade']}{form}"
    return " ".join(p for p in (e["brand"], e["trade"], form) if p)


def _account_record(rng: np.random.Generator, e: dict, duplicate: bool) -> dict:
    name = _account_name(e, e["form"], e.get("with_city", False))
    rec = {"name": name, "phone": _phone_format(rng, e["phone"]) if e["phone"] else "", "email": e["email"],
           "location": e["location"], "country": _pick(rng, COUNTRIES_CN) if e["chinese"] else e["country"],
           "uscc": e["uscc"]}
    if not duplicate:
        return rec
    corruptions = rng.choice(10, size=int(rng.integers(1, 4)), replace=False)
    for c in corruptions:
        if c == 0:  # another legal form, or none
            if e["chinese"]:
                form = _pick(rng, ("", "有限公司", "有限责任公司", "股份有限公司", "公司", "(中国)有限公司"))
            else:
                form = _pick(rng, e["forms"] + ("",))
            rec["name"] = _account_name(e, form, e.get("with_city", False))
        elif c == 1:  # full-width letters; a Chinese name gets its city in full-width brackets
            if e["chinese"]:
                rec["name"] = rec["name"].replace(e["form"], f"（{e['city'][0]}）{e['form']}", 1) \
                    if e["form"] and e["form"] in rec["name"] else _full_width(rec["name"] + "(" + e["city"][0] + ")")
            else:
                rec["name"] = _full_width(rec["name"])
        elif c == 2:  # a typo in the name
            alphabet = BRAND_CHARS if e["chinese"] else "abcdefghijklmnopqrstuvwxyz"
            rec["name"] = _typo(rng, rec["name"], alphabet)
        elif c == 3:  # city prefix given or left out, spaces, case
            if e["chinese"]:
                rec["name"] = _account_name(e, e["form"], not e.get("with_city", False))
            else:
                rec["name"] = rec["name"].upper() if rng.random() < 0.5 else rec["name"].replace(" ", "  ")
        elif c == 4:
            rec["phone"] = ""
        elif c == 5 and e["phone"]:  # a digit typed wrong
            digits = e["phone"]
            i = int(rng.integers(3, len(digits)))
            rec["phone"] = _phone_format(rng, digits[:i] + str((int(digits[i]) + 1) % 10) + digits[i + 1:])
        elif c == 6:
            rec["email"] = "" if rng.random() < 0.6 else rec["email"].upper()
        elif c == 7:
            rec["location"] = "" if rng.random() < 0.5 else rec["location"]
            rec["country"] = "" if rng.random() < 0.5 else rec["country"]
        elif c == 8:
            rec["uscc"] = "" if rng.random() < 0.6 else " ".join(
                [rec["uscc"][:6], rec["uscc"][6:12], rec["uscc"][12:]]).lower()
        elif c == 9 and not e["chinese"]:  # words swapped
            words = rec["name"].split(" ")
            if len(words) > 2:
                words[0], words[1] = words[1], words[0]
                rec["name"] = " ".join(words)
    return rec


def accounts(n: int, seed: int = 0, dup_share: float = 0.25, sibling_share: float = 0.05) -> pd.DataFrame:
    """``n`` account records, about ``dup_share`` of the companies entered more than once."""
    rng = np.random.default_rng(seed)
    records: list[dict] = []
    entities: list[dict] = []
    for entity_id, extra in enumerate(_extra_counts(rng, n, dup_share)):
        sibling = entities[int(rng.integers(len(entities)))] if entities and rng.random() < sibling_share else None
        e = _account_entity(rng, sibling)
        entities.append(e)
        for k in range(1 + extra):
            rec = _account_record(rng, e, duplicate=k > 0)
            rec["entity"] = entity_id
            records.append(rec)
    frame = pd.DataFrame.from_records(records)
    frame = frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    frame.insert(0, "id", np.arange(1, len(frame) + 1))
    return frame


# ---------------------------------------------------------------------------------------- contacts


def contacts(n: int, seed: int = 0, dup_share: float = 0.25, accounts_count: int | None = None) -> pd.DataFrame:
    """``n`` contact records; common names are shared by different people (told apart by e-mail, phone,
    account, birth date)."""
    rng = np.random.default_rng(seed)
    n_accounts = accounts_count or max(10, n // 5)
    records: list[dict] = []
    for entity_id, extra in enumerate(_extra_counts(rng, n, dup_share)):
        chinese = rng.random() < 0.6
        if chinese:
            first = "".join(_pick(rng, GIVEN) for _ in range(int(rng.integers(1, 3))))
            last = _pick(rng, SURNAMES)
        else:
            first, last = _pick(rng, EN_FIRST), _pick(rng, EN_LAST)
        phone = _phone(rng) if rng.random() < 0.8 else ""
        handle = _word(rng, 3) + str(int(rng.integers(100)))
        email = f"{handle}@{_pick(rng, MAIL_HOSTS)}" if rng.random() < 0.75 else ""
        account = int(rng.integers(1, n_accounts + 1)) if rng.random() < 0.9 else None
        birth = (dt.date(1960, 1, 1) + dt.timedelta(days=int(rng.integers(0, 40 * 365)))).isoformat() \
            if rng.random() < 0.4 else ""
        for k in range(1 + extra):
            rec = {"first_name": first, "last_name": last, "phone": _phone_format(rng, phone) if phone else "",
                   "email": email, "account_id": account, "birth_date": birth, "entity": entity_id}
            if k > 0:
                for c in rng.choice(7, size=int(rng.integers(1, 3)), replace=False):
                    if c == 0:
                        rec["first_name"], rec["last_name"] = rec["last_name"], rec["first_name"]
                    elif c == 1 and not chinese:
                        rec["last_name"] = _typo(rng, rec["last_name"], "abcdefghijklmnopqrstuvwxyz")
                    elif c == 1:
                        rec["first_name"] = _full_width(rec["first_name"]) + " "
                    elif c == 2:
                        rec["phone"] = ""
                    elif c == 3:
                        rec["email"] = "" if rng.random() < 0.5 else rec["email"].upper()
                    elif c == 4:
                        rec["account_id"] = None
                    elif c == 5:
                        rec["birth_date"] = ""
                    elif c == 6 and not chinese:
                        rec["first_name"] = rec["first_name"][0] + "."
            records.append(rec)
    frame = pd.DataFrame.from_records(records)
    frame["account_id"] = frame["account_id"].astype("Int64")
    frame = frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    frame.insert(0, "id", np.arange(1, len(frame) + 1))
    return frame


# ---------------------------------------------------------------------------------------- opportunities


def opportunities(n: int, seed: int = 0, dup_share: float = 0.2) -> pd.DataFrame:
    """``n`` opportunity records. Accounts buy the same product again (repeat deals are not duplicates): a
    third of the deals are re-orders of an earlier deal by the same account and rep, one to three months
    later, for about the same amount and often with the same name. A duplicate is the same deal entered twice,
    within days, perhaps by another rep, with the amount or date adjusted."""
    rng = np.random.default_rng(seed)
    n_accounts = max(5, n // 8)
    records: list[dict] = []
    start = dt.date(2015, 1, 1)
    previous: dict[str, Any] | None = None
    for entity_id, extra in enumerate(_extra_counts(rng, n, dup_share)):
        if previous is not None and rng.random() < 0.33:  # a re-order of the previous deal
            account, product, owner, name = (previous[k] for k in ("account", "product", "owner", "name"))
            amount = float(round(previous["amount"] * (1 + rng.uniform(-0.15, 0.15)), 0))
            later = int(rng.integers(30, 91))
            close = previous["close"] + dt.timedelta(days=later)
            created = previous["created"] + dt.timedelta(days=later + int(rng.integers(-5, 6)))
        else:
            account = int(rng.integers(1, n_accounts + 1))
            product = int(rng.integers(1, PRODUCTS + 1))
            amount = float(round(np.exp(rng.normal(9.0, 1.2)), -1))
            close = start + dt.timedelta(days=int(rng.integers(0, 6 * 365)))
            created = close - dt.timedelta(days=int(rng.integers(20, 121)))
            owner = int(rng.integers(1, OWNERS + 1))
            name = f"{_word(rng, 2).capitalize()} {_pick(rng, ('renewal', 'expansion', 'pilot', 'rollout', 'upgrade'))}"
        previous = {"account": account, "product": product, "owner": owner, "name": name, "amount": amount,
                    "close": close, "created": created}
        for k in range(1 + extra):
            rec = {"account_id": account, "product_id": product, "amount": amount, "close_date": close.isoformat(),
                   "owner_id": owner, "name": name, "entity": entity_id, "created_on": created.isoformat()}
            if k > 0:
                rec["created_on"] = (created + dt.timedelta(days=int(rng.integers(0, 6)))).isoformat()
                for c in rng.choice(6, size=int(rng.integers(1, 3)), replace=False):
                    if c == 0:
                        rec["amount"] = float(round(amount * (1 + rng.uniform(-0.05, 0.05)), 0)) \
                            if rng.random() < 0.7 else None
                    elif c == 1:
                        rec["close_date"] = (close + dt.timedelta(days=int(rng.integers(-20, 21)))).isoformat()
                    elif c == 2:
                        rec["owner_id"] = int(rng.integers(1, OWNERS + 1))
                    elif c == 3:
                        rec["name"] = _typo(rng, name, "abcdefghijklmnopqrstuvwxyz")
                    elif c == 4:
                        rec["name"] = name.upper()
                    elif c == 5:
                        rec["product_id"] = None
            records.append(rec)
    frame = pd.DataFrame.from_records(records)
    for col in ("product_id", "owner_id", "account_id"):
        frame[col] = frame[col].astype("Int64")
    frame = frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    frame.insert(0, "id", np.arange(1, len(frame) + 1))
    return frame


GENERATORS = {"accounts": accounts, "contacts": contacts, "opportunities": opportunities}
