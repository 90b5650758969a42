"""Fixtures of the reporting tests: users of the imported Maven data set."""

from __future__ import annotations

import pytest

# support.py holds assertions (assert_rows, assert_grouped, ...): let pytest explain their failures.
pytest.register_assert_rewrite("tests.reporting.support")


@pytest.fixture
def user_named(maven):
    from revcast.org.models import User

    def get(username: str):
        return User.objects.get(username=username)

    return get


@pytest.fixture
def admin_user(maven):
    from revcast.org.models import User

    return User.objects.create(username="reporting.admin", role=User.Role.ADMIN)
