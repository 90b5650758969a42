"""Logging in and out, password change, login throttling, language switch."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from revcast.org.models import User


@pytest.fixture
def rep(maven) -> User:
    user = User.objects.get(username="darcel.schlecht")
    user.set_password("s3cret-Pass!")
    user.save()
    return user


def _login(client: Client, username: str, password: str):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR="10.1.2.3")


def test_login_and_logout(rep):
    client = Client()
    assert client.get("/").status_code == 302
    response = _login(client, "darcel.schlecht", "s3cret-Pass!")
    assert response.status_code == 302 and response.url == reverse("home")
    assert client.get(reverse("home")).status_code == 200
    client.post(reverse("logout"))
    assert client.get(reverse("home")).status_code == 302


def test_passwords_are_hashed_with_argon2(rep):
    rep.refresh_from_db()
    assert rep.password.startswith("argon2$")


def test_wrong_password_is_refused_with_a_message(rep):
    response = _login(Client(), "darcel.schlecht", "nope")
    assert response.status_code == 200
    assert b"didn&#x27;t match" in response.content or b"didn't match" in response.content


def test_repeated_failures_lock_the_login(rep, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, "darcel.schlecht", "wrong")
    locked = _login(client, "darcel.schlecht", "s3cret-Pass!")
    assert locked.status_code == 429
    assert b"Too many failed logins" in locked.content
    # Another address is not locked out for this username.
    other = Client().post(reverse("login"), {"username": "darcel.schlecht", "password": "s3cret-Pass!"},
                          REMOTE_ADDR="10.9.9.9")
    assert other.status_code == 302


def test_password_change(rep):
    client = Client()
    _login(client, "darcel.schlecht", "s3cret-Pass!")
    response = client.post(reverse("password_change"), {"old_password": "s3cret-Pass!",
                                                        "new_password1": "An0ther-long-pass",
                                                        "new_password2": "An0ther-long-pass"})
    assert response.status_code == 302
    rep.refresh_from_db()
    assert rep.check_password("An0ther-long-pass")


def test_language_switch_to_chinese(rep):
    client = Client()
    client.force_login(rep)
    response = client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    assert response.status_code == 302
    page = client.get(reverse("password_change"))
    assert "修改密码" in page.content.decode()
