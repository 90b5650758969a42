"""The dedup engine on generated sets with known duplicates, the EM on hand-made data, survivorship rules.

Precision and recall are computed here from the generator's ``entity`` column with plain Python, not with
revcast's evaluate module.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
import pytest

from revcast.dataio.dedup import generate, survivorship
from revcast.dataio.dedup.engine import find_duplicates
from revcast.dataio.dedup.model import train


def _pairs_by(groups: dict[int, list[int]]) -> set[tuple[int, int]]:
    out = set()
    for members in groups.values():
        out.update(combinations(sorted(members), 2))
    return out


def _precision_recall(frame: pd.DataFrame, cluster_of: pd.Series) -> tuple[float, float]:
    truth: dict[int, list[int]] = {}
    for rid, entity in zip(frame["id"], frame["entity"], strict=True):
        truth.setdefault(int(entity), []).append(int(rid))
    found: dict[int, list[int]] = {}
    for rid, cid in cluster_of.items():
        found.setdefault(int(cid), []).append(int(rid))
    true, predicted = _pairs_by(truth), _pairs_by(found)
    assert true, "the generated set must hold duplicates"
    correct = len(true & predicted)
    return correct / max(1, len(predicted)), correct / len(true)


@pytest.mark.parametrize("obj", ["accounts", "contacts", "opportunities"])
def test_default_settings_reach_095_precision_and_recall(obj):
    frame = generate.GENERATORS[obj](4000, seed=11)
    result = find_duplicates(frame, obj, random_pairs=200_000)
    precision, recall = _precision_recall(frame, result.cluster_of)
    assert precision >= 0.95, precision
    assert recall >= 0.95, recall
    assert result.model.converged


def test_generator_is_deterministic_and_has_the_promised_variants():
    a = generate.accounts(3000, seed=3)
    b = generate.accounts(3000, seed=3)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(generate.accounts(3000, seed=4))
    names = " ".join(a["name"])
    for form in ("有限公司", "有限责任公司", "股份有限公司", "Inc", "Ltd"):
        assert form in names
    assert any("\uff08" in n or any(0xFF01 <= ord(ch) <= 0xFF5E for ch in n) for n in a["name"])  # full width
    dup_entities = a.groupby("entity").size()
    assert (dup_entities > 1).sum() > 300
    contacts = generate.contacts(2000, seed=3)
    swapped = contacts.merge(contacts, on="entity").query("id_x < id_y")
    assert ((swapped.first_name_x == swapped.last_name_y) & (swapped.last_name_x == swapped.first_name_y)).any()


def test_swapped_names_typos_and_legal_forms_are_found():
    frame = pd.DataFrame([
        {"id": 1, "name": "北京华信达科技有限公司", "phone": "13812345678", "email": "", "location": "北京",
         "country": "中国", "uscc": ""},
        {"id": 2, "name": "华信达科技（北京）股份有限公司", "phone": "+86 138 1234 5678", "email": "",
         "location": "北京市", "country": "China", "uscc": ""},
        {"id": 3, "name": "Ｂｅｌｔｒｏｎ Ｓｙｓｔｅｍｓ Ｃｏ．， Ｌｔｄ．", "phone": "", "email": "info@beltron.com",
         "location": "London", "country": "United Kingdom", "uscc": ""},
        {"id": 4, "name": "Beltron Systems Limited", "phone": "", "email": "INFO@BELTRON.COM", "location": "London",
         "country": "UK", "uscc": ""},
    ])
    others = generate.accounts(300, seed=2, dup_share=0.0, sibling_share=0.0).drop(columns="entity")
    frame = pd.concat([frame, others.assign(id=others["id"] + 100)], ignore_index=True)
    result = find_duplicates(frame, "accounts")
    clusters = result.clusters()
    assert clusters == {1: [1, 2], 3: [3, 4]}
    pair = result.cluster_pairs(1)[0]
    fields = {f["field"]: f for f in pair["fields"]}
    assert fields["phone"]["level"] == "exact" and fields["country"]["level"] == "exact"
    assert fields["email"]["level"] == "missing" and fields["email"]["weight"] == 0.0


def _simulate(rng, n, lam, m, u):
    is_match = rng.random(n) < lam
    levels = np.empty((n, len(m)), dtype=np.int8)
    for j, (mj, uj) in enumerate(zip(m, u, strict=True)):
        levels[is_match, j] = rng.choice(len(mj), size=is_match.sum(), p=mj)
        levels[~is_match, j] = rng.choice(len(uj), size=(~is_match).sum(), p=uj)
    return levels


def test_em_recovers_known_parameters_and_never_decreases_its_objective():
    rng = np.random.default_rng(5)
    m = [np.array([0.05, 0.15, 0.80]), np.array([0.1, 0.9]), np.array([0.2, 0.3, 0.5])]
    u = [np.array([0.90, 0.08, 0.02]), np.array([0.7, 0.3]), np.array([0.8, 0.15, 0.05])]
    candidates = _simulate(rng, 60_000, 0.2, m, u)
    random_pairs = _simulate(rng, 60_000, 0.0, m, u)
    model = train(["a", "b", "c"], [3, 2, 3], candidates, random_pairs)
    assert model.converged
    assert abs(model.lam - 0.2) < 0.02
    for got, want in zip(model.m, m, strict=True):
        assert np.abs(got - want).max() < 0.03
    assert all(b >= a - 1e-6 for a, b in zip(model.history, model.history[1:], strict=False))
    # a missing value (-1) adds no weight
    assert model.field_weights(np.array([[-1, -1, -1]], dtype=np.int8)).tolist() == [[0.0, 0.0, 0.0]]
    w = model.match_weight(np.array([[2, 1, 2]], dtype=np.int8))[0]
    expected = np.log2(model.lam / (1 - model.lam)) + sum(
        np.log2(model.m[j][lvl] / model.u[j][lvl]) for j, lvl in enumerate((2, 1, 2)))
    assert w == pytest.approx(expected)


def test_em_with_few_pairs_stays_near_its_prior():
    candidates = np.array([[0, 0], [0, 1], [1, 0]], dtype=np.int8)
    random_pairs = np.array([[0, 0]] * 50 + [[1, 1]] * 2, dtype=np.int8)
    model = train(["a", "b"], [2, 2], candidates, random_pairs)
    assert model.converged
    assert all(m[-1] > 0.5 for m in model.m)  # agreement still counts for a match


def test_survivorship_rules():
    import datetime as dt

    t0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    records = [
        {"id": 1, "updated_at": t0, "source": "import", "name": "Acme", "phone": "", "location": "Paris",
         "custom": {"a": 1}},
        {"id": 2, "updated_at": t0 + dt.timedelta(days=3), "source": "manual", "name": "ACME Ltd",
         "phone": "123", "location": "", "custom": {"b": 2}},
        {"id": 3, "updated_at": t0 + dt.timedelta(days=1), "source": "import", "name": "Acme Limited",
         "phone": "456", "location": "Lyon", "custom": {"a": 9}},
    ]
    fields = ["name", "phone", "location", "custom"]
    assert survivorship.choose_survivor(records, fields) == 3
    values, origin = survivorship.merged_values(records, 1, fields)
    assert values["name"] == "Acme" and origin["name"] == 1
    assert values["phone"] == "456" and origin["phone"] == 3  # survivor empty: most complete fills it
    assert values["custom"] == {"a": 1, "b": 2}
    values, _ = survivorship.merged_values(records, 1, fields, rules={"name": "most_recent", "phone": "most_recent"})
    assert values["name"] == "ACME Ltd" and values["phone"] == "123"
    values, _ = survivorship.merged_values(records, 1, fields, default="source_priority")
    assert values["name"] == "ACME Ltd" and values["location"] == "Lyon"
    values, origin = survivorship.merged_values(records, 1, fields, choices={"location": 2})
    assert values["location"] == "" and origin["location"] == 2
    with pytest.raises(ValueError):
        survivorship.merged_values(records, 1, fields, rules={"name": "loudest"})


def test_level_patterns_encoded_as_integers_equal_numpys_row_unique():
    from revcast.dataio.dedup.model import distinct_patterns

    rng = np.random.default_rng(3)
    levels = rng.integers(-1, 5, size=(5000, 6)).astype(np.int8)
    patterns, inverse, counts = distinct_patterns(levels)
    want, want_counts = np.unique(levels, axis=0, return_counts=True)
    assert np.array_equal(patterns, want) and np.array_equal(counts, want_counts)
    assert np.array_equal(patterns[inverse], levels)


def test_value_u_counts_other_entities_holding_the_value():
    from revcast.dataio.dedup.compare import Agreed
    from revcast.dataio.dedup.model import value_u

    # 10 records: value 0 held by 3 of them (3 agreeing pairs), value 1 by 2 (1 pair); pair 4 agrees on nothing
    agreed = Agreed(codes=np.array([0, 0, 0, 1, -1]), counts=np.array([3.0, 2.0]), present=10)
    u = value_u(agreed, np.zeros(5), floor=0.1)
    assert u[:4].tolist() == pytest.approx([2 / 10, 2 / 10, 2 / 10, 1 / 10]) and np.isnan(u[4])
    # the two records of value 1 are surely one company: no other company holds it (floor); of value 0's
    # three pairs one is a match, so each holder has 2 * 2 / 3 records of other companies beside it
    u = value_u(agreed, np.array([1.0, 0.0, 0.0, 1.0, 0.0]), floor=0.1)
    assert u[:4].tolist() == pytest.approx([4 / 3 / 10] * 3 + [0.1 / 10])


def test_a_rare_name_weighs_more_than_a_name_many_companies_share():
    # twenty different companies called "Moto Industries" in Oslo (their phones tell them apart), one more
    # record of that name without a phone, and two records of a name nobody else bears, without phones
    common = [{"id": 1000 + i, "name": "Moto Industries Ltd.", "phone": f"+47 2{i:02d}4 5{i:02d}7",
               "email": "", "location": "Oslo", "country": "Norway", "uscc": ""} for i in range(20)]
    probe = [{"id": 1100, "name": "Moto Industries Ltd.", "phone": "", "email": "", "location": "Oslo",
              "country": "Norway", "uscc": ""}]
    rare = [{"id": 2000 + i, "name": "Hexjorto Materials Ltd.", "phone": "", "email": "", "location": "Oslo",
             "country": "Norway", "uscc": ""} for i in range(2)]
    others = generate.accounts(3000, seed=5)
    frame = pd.concat([pd.DataFrame(common + probe + rare), others.drop(columns="entity")], ignore_index=True)
    result = find_duplicates(frame, "accounts")
    ids = result.ids
    pair = {(int(ids[a]), int(ids[b])): p for a, b, p in zip(result.left, result.right, result.probability,
                                                            strict=True)}
    rare_p = pair[(2000, 2001)]
    probe_p = max(p for (a, b), p in pair.items() if b == 1100 and 1000 <= a < 1020)
    # the same levels (name, location, country exact; phone missing): without value-specific u, the same score
    assert rare_p > 0.9 and rare_p - probe_p > 0.1
    assert not any(p >= 0.5 for (a, b), p in pair.items() if 1000 <= a < 1020 and 1000 <= b < 1020)
    k = int(np.flatnonzero((ids[result.left] == 2000) & (ids[result.right] == 2001))[0])
    explained = {f["field"]: f for f in result.explain(k)["fields"]}
    assert explained["name"]["level"] == "exact" and explained["name"]["value_u"] > 0


def _deal(rid, created, close, amount=1000.0):
    return {"id": rid, "name": "", "account_id": 7, "product_id": 2, "amount": amount, "close_date": close,
            "owner_id": 3, "created_on": created}


def _repeat_business(extra):
    """Forty accounts, each buying one product twice, three months apart (repeat deals), plus ``extra``."""
    rows = []
    for i in range(40):
        base = 1000 + i
        rows.append({**_deal(2 * i + 100, "2017-01-05", "2017-02-01", 500.0 + i), "account_id": base})
        rows.append({**_deal(2 * i + 101, "2017-04-05", "2017-05-01", 510.0 + i), "account_id": base})
    return pd.DataFrame.from_records([*rows, *extra])


def test_a_required_disagreement_vetoes_the_pair_whatever_else_agrees():
    # 1 and 2: the same deal entered twice; 1 and 3: the same account, product, rep and amount, created and
    # closed two months later (a re-order).
    frame = _repeat_business([_deal(1, "2017-03-01", "2017-04-10"), _deal(2, "2017-03-02", "2017-04-12"),
                              _deal(3, "2017-05-01", "2017-06-10")])
    result = find_duplicates(frame, "opportunities")
    clusters = result.clusters()
    assert [1, 2] in clusters.values()
    assert not any(3 in members for members in clusters.values())
    k = next(i for i in range(len(result.left))
             if {int(result.ids[result.left[i]]), int(result.ids[result.right[i]])} == {1, 3})
    assert result.probability[k] == 0.0
    explained = result.explain(k)
    assert {f["field"] for f in explained["fields"] if f.get("vetoes")} == {"close_date", "created"}


def test_opportunity_clusters_are_complete_chains_are_not_joined():
    # 1~2 and 2~3 are within every limit, but 1 and 3 were created 30 days apart: single linkage would join
    # all three; complete linkage keeps the best pair and leaves 3 out.
    frame = _repeat_business([_deal(1, "2017-03-01", "2017-04-10"), _deal(2, "2017-03-16", "2017-04-12"),
                              _deal(3, "2017-03-31", "2017-04-14")])
    result = find_duplicates(frame, "opportunities")
    members = sorted(m for ms in result.clusters().values() for m in ms if m in (1, 2, 3))
    assert len(members) == 2
    assert not any({1, 3} <= set(ms) for ms in result.clusters().values())
