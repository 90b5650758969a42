"""API tokens: the CLI, Bearer authentication, hashing, revocation, expiry, last use; sessions too."""

from __future__ import annotations

import datetime as dt
import hashlib
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from rest_framework.test import APIClient

from revcast.api.models import ApiToken

pytestmark = pytest.mark.usefixtures("maven")


def create(*args: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    call_command("token", "create", *args, stdout=out, stderr=err)
    return out.getvalue()


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_create_prints_the_token_alone_and_it_works():
    out = create("darcel.schlecht")
    token = out.removesuffix("\n")
    assert out == token + "\n" and "\n" not in token and " " not in token
    assert token.startswith("rc_") and len(token) == 3 + 43
    response = bearer(token).get("/api/opportunities/")
    assert response.status_code == 200
    assert response.json()["count"] == 747


def test_only_a_hash_is_stored():
    token = create("darcel.schlecht", "--name", "laptop").strip()
    stored = ApiToken.objects.get()
    assert stored.key_hash == hashlib.sha256(token.encode()).hexdigest()
    assert stored.prefix == token[:8] and stored.name == "laptop" and stored.user.username == "darcel.schlecht"
    for field in ApiToken._meta.concrete_fields:
        assert token not in str(getattr(stored, field.attname))


def test_revoked_token_gets_401_in_the_error_shape():
    token = create("darcel.schlecht").strip()
    out = io.StringIO()
    call_command("token", "revoke", token[:8], stdout=out)
    assert out.getvalue().startswith(f"revoked token {token[:8]}")
    response = bearer(token).get("/api/opportunities/")
    assert response.status_code == 401
    assert response.json() == {"error": {"status": 401, "code": "authentication_failed", "message": "Token revoked."}}
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="api"'
    # Revoking twice says so; by id works too.
    out = io.StringIO()
    call_command("token", "revoke", str(ApiToken.objects.get().pk), stdout=out)
    assert "already revoked" in out.getvalue()


@pytest.mark.parametrize("header", ["Bearer rc_wrong", "Bearer " + "x" * 46, "Bearer", "Bearer a b"])
def test_wrong_token_gets_401(header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get("/api/accounts/")
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["status"] == 401 and error["code"] == "authentication_failed" and error["message"]
    assert set(response.json()) == {"error"} and "fields" not in error


def test_no_credentials_gets_401():
    response = APIClient().get("/api/opportunities/")
    assert response.status_code == 401
    assert response.json() == {
        "error": {
            "status": 401,
            "code": "not_authenticated",
            "message": "Authentication credentials were not provided.",
        }
    }


def test_expired_token_and_inactive_user():
    token = create("darcel.schlecht", "--expires-days", "1").strip()
    stored = ApiToken.objects.get()
    assert stored.expires_at - timezone.now() > dt.timedelta(hours=23, minutes=59)
    assert bearer(token).get("/api/stages/").status_code == 200
    ApiToken.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    response = bearer(token).get("/api/stages/")
    assert response.status_code == 401 and response.json()["error"]["message"] == "Token expired."
    other = create("gladys.colclough").strip()
    from revcast.org.models import User

    User.objects.filter(username="gladys.colclough").update(is_active=False)
    response = bearer(other).get("/api/stages/")
    assert response.status_code == 401 and response.json()["error"]["message"] == "User inactive or deleted."


def test_last_used_is_written_at_most_once_a_minute():
    token = create("darcel.schlecht").strip()
    assert ApiToken.objects.get().last_used_at is None
    bearer(token).get("/api/stages/")
    first = ApiToken.objects.get().last_used_at
    assert first is not None
    bearer(token).get("/api/stages/")
    assert ApiToken.objects.get().last_used_at == first
    ApiToken.objects.update(last_used_at=first - dt.timedelta(minutes=2))
    bearer(token).get("/api/stages/")
    assert ApiToken.objects.get().last_used_at > first


def test_list_shows_prefixes_and_status_never_tokens():
    darcel = create("darcel.schlecht", "--name", "ci").strip()
    create("gladys.colclough")
    call_command("token", "revoke", darcel[:8], stdout=io.StringIO())
    out = io.StringIO()
    call_command("token", "list", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["ID", "PREFIX", "USER", "NAME", "CREATED", "LAST", "USED", "EXPIRES", "STATUS"]
    assert len(lines) == 3
    assert darcel[:8] in lines[1] and "darcel.schlecht" in lines[1] and lines[1].endswith("revoked")
    assert lines[2].endswith("active") and "gladys.colclough" in lines[2]
    assert darcel not in out.getvalue()
    out = io.StringIO()
    call_command("token", "list", "gladys.colclough", stdout=out)
    assert len(out.getvalue().splitlines()) == 2


def test_cli_errors():
    with pytest.raises(CommandError, match=r"no user 'no\.body'"):
        create("no.body")
    with pytest.raises(CommandError, match="no token with prefix"):
        call_command("token", "revoke", "rc_nope", stdout=io.StringIO())
    with pytest.raises(CommandError, match="positive"):
        create("darcel.schlecht", "--expires-days", "0")


def test_session_authentication_works_and_enforces_csrf():
    from revcast.org.models import User

    client = APIClient(enforce_csrf_checks=True)
    client.force_login(User.objects.get(username="darcel.schlecht"))
    assert client.get("/api/opportunities/").json()["count"] == 747
    response = client.post("/api/activities/", {"type": "call"}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["message"].startswith("CSRF Failed")
