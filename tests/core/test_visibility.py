"""The visibility layer: own records, the hierarchy below at any depth, admin and configurable roles."""

from __future__ import annotations

import csv
from collections import Counter

import pytest

from revcast.core import visibility
from revcast.org.models import User
from tests.conftest import MAVEN_DIR


def _raw_counts() -> tuple[Counter, dict[str, str]]:
    with (MAVEN_DIR / "sales_pipeline.csv").open(encoding="utf-8") as fh:
        per_agent = Counter(r["sales_agent"] for r in csv.DictReader(fh))
    with (MAVEN_DIR / "sales_teams.csv").open(encoding="utf-8") as fh:
        manager_of = {r["sales_agent"]: r["manager"] for r in csv.DictReader(fh)}
    return per_agent, manager_of


def test_rep_manager_admin_counts_match_the_raw_data(maven):
    per_agent, manager_of = _raw_counts()
    darcel = User.objects.get(username="darcel.schlecht")
    melvin = User.objects.get(username="melvin.marxen")
    team_total = sum(n for agent, n in per_agent.items() if manager_of[agent] == "Melvin Marxen")
    assert visibility.opportunities(darcel).count() == per_agent["Darcel Schlecht"] == 747
    assert visibility.opportunities(melvin).count() == team_total == 1929
    admin = User.objects.create(username="root.admin", role=User.Role.ADMIN)
    assert visibility.opportunities(admin).count() == 8800
    assert visibility.opportunities(None).count() == 8800


def test_a_rep_never_sees_a_colleagues_records(maven):
    darcel = User.objects.get(username="darcel.schlecht")
    gladys = User.objects.get(username="gladys.colclough")
    assert not visibility.opportunities(darcel).filter(owner=gladys).exists()
    theirs = visibility.opportunities(gladys).values_list("pk", flat=True)
    assert not visibility.opportunities(darcel).filter(pk__in=theirs).exists()


def test_hierarchy_of_any_depth(maven):
    melvin = User.objects.get(username="melvin.marxen")
    head = User.objects.create(username="regional.head", role=User.Role.MANAGER)
    ceo = User.objects.create(username="the.ceo", role=User.Role.MANAGER)
    melvin.manager = head
    melvin.save()
    head.manager = ceo
    head.save()
    assert visibility.opportunities(ceo).count() == 1929
    assert visibility.opportunities(head).count() == 1929
    assert visibility.subtree_ids(ceo) >= {ceo.pk, head.pk, melvin.pk}


@pytest.mark.parametrize(("scope", "expected"), [("all", 8800), ("subtree", 0)])
def test_finance_and_viewer_scope_is_configurable(maven, scope, expected):
    for role in (User.Role.FINANCE, User.Role.VIEWER):
        u = User.objects.create(username=f"{role}.{scope}", role=role, visibility_scope=scope)
        assert visibility.opportunities(u).count() == expected


def test_inactive_and_anonymous_users_see_nothing(maven):
    from django.contrib.auth.models import AnonymousUser

    darcel = User.objects.get(username="darcel.schlecht")
    darcel.is_active = False
    darcel.save()
    assert visibility.opportunities(darcel).count() == 0
    assert visibility.opportunities(AnonymousUser()).count() == 0


def test_accounts_follow_visible_opportunities(maven):
    darcel = User.objects.get(username="darcel.schlecht")
    with (MAVEN_DIR / "sales_pipeline.csv").open(encoding="utf-8") as fh:
        expected = {
            r["account"] for r in csv.DictReader(fh) if r["sales_agent"] == "Darcel Schlecht" and r["account"]
        }
    assert set(visibility.accounts(darcel).values_list("name", flat=True)) == expected
