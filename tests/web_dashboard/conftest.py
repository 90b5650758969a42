"""Fixtures of the dashboard and report-page tests: Maven users, an admin, logged-in test clients."""

from __future__ import annotations

import pytest
from django.test import Client


@pytest.fixture
def user_named(maven):
    from revcast.org.models import User

    return lambda username: User.objects.get(username=username)


@pytest.fixture
def admin_user(maven):
    from revcast.org.models import User

    return User.objects.create(username="dash.admin", role=User.Role.ADMIN, is_staff=True, is_superuser=True)


@pytest.fixture
def client_for(maven):
    """A test client logged in as a user (a username, or ``"admin"`` for a new administrator)."""
    from revcast.org.models import User

    def make(user) -> Client:
        if user == "admin":
            user = User.objects.get_or_create(
                username="dash.admin", defaults={"role": User.Role.ADMIN, "is_staff": True, "is_superuser": True}
            )[0]
        elif isinstance(user, str):
            user = User.objects.get(username=user)
        client = Client()
        client.force_login(user)
        return client

    return make
