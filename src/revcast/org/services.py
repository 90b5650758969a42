"""All writes to users, teams and regions."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils.text import slugify

from revcast.core.bulk import upsert
from revcast.org.models import Region, Team, User


def username_for(full_name: str) -> str:
    """``First Last`` -> ``first.last`` (lower case; middle names dropped; hyphens kept)."""
    parts = [p for p in re.split(r"\s+", full_name.strip()) if p]
    if not parts:
        raise ValueError("empty name")
    if len(parts) == 1:
        return parts[0].lower()
    return f"{parts[0]}.{parts[-1]}".lower()


def split_name(full_name: str) -> tuple[str, str]:
    parts = full_name.strip().split()
    if len(parts) <= 1:
        return (parts[0] if parts else "", "")
    return parts[0], " ".join(parts[1:])


@dataclass
class TeamMember:
    name: str
    manager: str | None = None
    region: str | None = None
    team: str | None = None
    email: str | None = None


@dataclass
class SalesTeamResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    created_by_object: dict[str, int] = field(default_factory=dict)


def team_name_for(manager_name: str) -> str:
    return f"{manager_name} team"


def upsert_sales_team(members: Sequence[TeamMember]) -> SalesTeamResult:
    """Users, their managers, teams (one per manager) and regions from rows of a sales-team table.

    Counts (created/updated/unchanged) are for the member users; managers, teams and regions created
    along the way are counted in ``created_by_object``.
    """
    result = SalesTeamResult()
    with transaction.atomic():
        region_names = sorted({m.region for m in members if m.region})
        regions = upsert(Region, "code", [{"code": slugify(n), "name": n} for n in region_names])
        region_by_name = {r.name: r for r in regions.objects}

        managers_of: dict[str, TeamMember] = {}
        for m in members:
            if m.manager and m.manager not in managers_of:
                managers_of[m.manager] = TeamMember(name=m.manager, region=m.region)
        member_names = {m.name for m in members}
        manager_rows = [
            _user_row(mgr, User.Role.MANAGER, region_by_name.get(mgr.region or ""))
            for name, mgr in managers_of.items()
            if name not in member_names
        ]
        managers = upsert(User, "username", manager_rows, merge_json=())
        result.created_by_object["manager"] = len(managers.created)

        team_rows = []
        for name, mgr in managers_of.items():
            team_rows.append({"name": team_name_for(name), "region": region_by_name.get(mgr.region or "")})
        for m in members:
            if m.team and m.team not in {t["name"] for t in team_rows}:
                team_rows.append({"name": m.team, "region": region_by_name.get(m.region or "")})
        teams = upsert(Team, "name", team_rows, merge_json=())
        team_by_name = {t.name: t for t in teams.objects}

        users_by_username = {u.username: u for u in managers.objects}
        member_rows = []
        for m in members:
            row = _user_row(
                m,
                User.Role.MANAGER if m.name in managers_of else User.Role.REP,
                region_by_name.get(m.region or ""),
            )
            # A manager with a row of their own and no manager above leads (and belongs to) their own team.
            own = team_name_for(m.name) if m.name in managers_of else None
            team_name = m.team or (team_name_for(m.manager) if m.manager else own)
            row["team"] = team_by_name.get(team_name or "")
            member_rows.append(row)
        people = upsert(User, "username", member_rows, merge_json=())
        users_by_username.update({u.username: u for u in people.objects})

        # Reporting lines and team leads, now that every person exists.
        links = []
        for m in members:
            if m.manager:
                links.append(
                    {"username": username_for(m.name), "manager": users_by_username[username_for(m.manager)]}
                )
        upsert(User, "username", links, existing=users_by_username, merge_json=())
        leads = [
            {"name": team_name_for(name), "lead": users_by_username[username_for(name)]}
            for name in managers_of
        ]
        upsert(Team, "name", leads, existing=team_by_name, merge_json=())
        # Managers known only from the manager column join the team they lead (through upsert: journaled).
        own_teams = [
            {"username": username_for(name), "team": team_by_name[team_name_for(name)]}
            for name in managers_of
            if users_by_username[username_for(name)].team_id is None
        ]
        upsert(User, "username", own_teams, existing=users_by_username, merge_json=())

        fresh = [u.pk for u in [*managers.created, *people.created]]
        User.objects.filter(pk__in=fresh, password="").update(password=make_password(None))

        result.created_by_object["region"] = len(regions.created)
        result.created_by_object["team"] = len(teams.created)
        result.created = len(people.created)
        result.updated = len(people.updated)
        result.unchanged = len(people.unchanged)
    return result


def _user_row(member: TeamMember, role: Any, region: Region | None) -> dict[str, Any]:
    first, last = split_name(member.name)
    row = {
        "username": username_for(member.name),
        "first_name": first,
        "last_name": last,
        "role": role,
        "region": region,
    }
    if member.email:
        row["email"] = member.email
    return row
