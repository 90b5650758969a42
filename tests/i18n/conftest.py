"""Fixtures of the i18n tests: Maven users and test clients in English or Chinese."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

ZH = "zh-hans"


@pytest.fixture
def client_as(maven):
    """A client logged in as ``username`` (``"admin"``: a new superuser), reading pages in ``language``.

    Chinese is asked for by the browser's Accept-Language header, or with ``cookie=True`` by the language
    cookie that the language switcher sets."""
    from revcast.org.models import User

    def make(username: str, language: str = "en", *, cookie: bool = False) -> Client:
        if username == "admin":
            user = User.objects.create(username="i18n.admin", first_name="Ada", last_name="Admin",
                                       role=User.Role.ADMIN, is_staff=True, is_superuser=True)
        else:
            user = User.objects.get(username=username)
        client = Client() if cookie else Client(HTTP_ACCEPT_LANGUAGE=language)
        if cookie:
            client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        client.force_login(user)
        return client

    return make


@pytest.fixture(autouse=True)
def _english_afterwards():
    """Requests in Chinese activate it in this thread (LocaleMiddleware); later tests expect the default."""
    from django.utils import translation

    yield
    translation.deactivate()
