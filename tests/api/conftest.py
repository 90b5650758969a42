"""Fixtures of the API tests: the Maven users, an admin and finance users, and API clients with real tokens."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient


@pytest.fixture(autouse=True)
def _fresh_throttle_counts():
    """Request counts of the throttle live in the cache, which the rolled-back transaction does not reset."""
    cache.clear()
    yield
    cache.clear()


class Users(dict):
    def __getattr__(self, name: str) -> Any:
        return self[name]


@pytest.fixture
def users(maven) -> Users:
    """Maven people plus an admin, finance users (scope all; scope subtree above Melvin) and a viewer."""
    from revcast.org.models import User

    found = Users({u.username.split(".")[0]: u for u in User.objects.filter(
        username__in=["darcel.schlecht", "melvin.marxen", "gladys.colclough", "anna.snelling", "dustin.brinkmann"]
    )})
    found["admin"] = User.objects.create(username="api.admin", role=User.Role.ADMIN)
    found["fin_all"] = User.objects.create(username="fin.all", role=User.Role.FINANCE, visibility_scope="all")
    found["fin_sub"] = User.objects.create(username="fin.sub", role=User.Role.FINANCE, visibility_scope="subtree")
    found["viewer"] = User.objects.create(username="view.all", role=User.Role.VIEWER, visibility_scope="all")
    # The Central finance controller: Melvin (and so his team) reports to them.
    User.objects.filter(pk=found["melvin"].pk).update(manager=found["fin_sub"])
    found["melvin"].refresh_from_db()
    return found


@pytest.fixture
def api(users):
    """``api(user)``: an APIClient sending ``Authorization: Bearer <a new token of user>``."""
    from revcast.api.services import create_token

    def make(user: Any) -> APIClient:
        _, raw = create_token(user, name="tests")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        return client

    return make
