"""Fixtures of the record-page tests: Maven users, an admin and a finance user, logged-in clients."""

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

    return User.objects.create(username="records.admin", role=User.Role.ADMIN)


@pytest.fixture
def finance_user(maven):
    from revcast.org.models import User

    return User.objects.create(username="records.finance", role=User.Role.FINANCE, visibility_scope="all")


@pytest.fixture
def client_for(maven):
    """A test client logged in as a user (given by username or instance)."""
    from revcast.org.models import User

    def make(user) -> Client:
        if isinstance(user, str):
            user = User.objects.get(username=user)
        client = Client()
        client.force_login(user)
        return client

    return make


@pytest.fixture
def gladys_deal(user_named):
    """A deal of gladys.colclough (same team as darcel.schlecht), open in Engaging, with an account."""
    from revcast.pipeline.models import Opportunity

    return (
        Opportunity.objects.filter(owner=user_named("gladys.colclough"), stage__name="Engaging", account__isnull=False)
        .order_by("pk")
        .first()
    )


@pytest.fixture
def darcel_deal(user_named):
    """An open Engaging deal of darcel.schlecht with an account."""
    from revcast.pipeline.models import Opportunity

    return (
        Opportunity.objects.filter(owner=user_named("darcel.schlecht"), stage__name="Engaging", account__isnull=False)
        .select_related("stage", "account")
        .order_by("pk")
        .first()
    )
