from __future__ import annotations

import pytest

from revcast.org.models import Team, User
from revcast.org.services import TeamMember, upsert_sales_team, username_for


@pytest.mark.parametrize(
    ("name", "username"),
    [
        ("Darcel Schlecht", "darcel.schlecht"),
        ("Mei-Mei Johns", "mei-mei.johns"),
        ("  Anna  B  Snelling ", "anna.snelling"),
        ("Cher", "cher"),
    ],
)
def test_username_is_lower_first_dot_last(name, username):
    assert username_for(name) == username


def test_sales_team_builds_a_hierarchy_and_is_idempotent(db):
    rows = [
        TeamMember(name="Ann Lee", manager="Bo Chen", region="North"),
        TeamMember(name="Bo Chen", manager="Cy Diaz", region="North"),
        TeamMember(name="Di Wu", manager="Bo Chen", region="North"),
    ]
    first = upsert_sales_team(rows)
    assert first.created == 3
    bo = User.objects.get(username="bo.chen")
    assert bo.role == "manager" and bo.manager.username == "cy.diaz"
    assert User.objects.get(username="ann.lee").manager == bo
    assert Team.objects.get(name="Bo Chen team").lead == bo
    assert not User.objects.get(username="ann.lee").has_usable_password()
    again = upsert_sales_team(rows)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
