"""Writes the API owns: API tokens (create, revoke, authenticate) and reference data saved over the API.

A token is ``rc_`` followed by 43 URL-safe random characters (256 bits). It is shown once, when created;
the database keeps only its SHA-256 hex digest and its first 8 characters (the prefix, to recognise it).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from django.db import transaction
from django.utils import timezone

from revcast.api.models import ApiToken

TOKEN_PREFIX = "rc_"
PREFIX_LENGTH = 8
# last_used_at is written at most this often per token, so that reads do not turn into writes.
LAST_USED_PRECISION = dt.timedelta(minutes=1)


class TokenError(Exception):
    """A token could not be found or used; the message says why."""


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def create_token(user: Any, *, name: str = "", expires_days: int | None = None) -> tuple[ApiToken, str]:
    """A new token for ``user``: the saved record and the token itself (which is not stored)."""
    if expires_days is not None and expires_days <= 0:
        raise TokenError("expires_days must be a positive number of days")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires_at = timezone.now() + dt.timedelta(days=expires_days) if expires_days else None
    token = ApiToken.objects.create(
        user=user, name=name, prefix=raw[:PREFIX_LENGTH], key_hash=hash_token(raw), expires_at=expires_at
    )
    return token, raw


def find_token(prefix_or_id: str) -> ApiToken:
    """One token by id, by its prefix (unambiguous) or by the whole token."""
    text = prefix_or_id.strip()
    if text.isdigit():
        token = ApiToken.objects.select_related("user").filter(pk=int(text)).first()
        if token is None:
            raise TokenError(f"no token with id {text}")
        return token
    if len(text) > PREFIX_LENGTH:
        token = ApiToken.objects.select_related("user").filter(key_hash=hash_token(text)).first()
        if token is None:
            raise TokenError("no such token")
        return token
    matches = list(ApiToken.objects.select_related("user").filter(prefix=text)[:2])
    if not matches:
        raise TokenError(f"no token with prefix {text!r}")
    if len(matches) > 1:
        raise TokenError(f"several tokens have prefix {text!r}: give the id (revcast token list)")
    return matches[0]


def revoke_token(token: ApiToken) -> bool:
    """Revoke ``token``; False when it was revoked already."""
    updated = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    token.refresh_from_db(fields=["revoked_at"])
    return bool(updated)


def authenticate_token(raw: str) -> ApiToken:
    """The active token ``raw`` stands for, with its user; raises TokenError (unknown, revoked, expired)."""
    token = ApiToken.objects.select_related("user").filter(key_hash=hash_token(raw)).first()
    if token is None:
        raise TokenError("invalid token")
    if token.is_revoked:
        raise TokenError("token revoked")
    if token.is_expired:
        raise TokenError("token expired")
    if not token.user.is_active:
        raise TokenError("user inactive")
    _touch(token)
    return token


def _touch(token: ApiToken) -> None:
    now = timezone.now()
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_PRECISION:
        return
    # A conditional update: concurrent requests write it once, and never move it backwards.
    ApiToken.objects.filter(pk=token.pk).exclude(last_used_at__gte=now - LAST_USED_PRECISION).update(
        last_used_at=now
    )
    token.last_used_at = now


# ---------------------------------------------------------------- reference data (admin only over the API)


def delete_record(instance: Any) -> None:
    """Delete one record; a record still in use raises django.db.models.ProtectedError (a 409)."""
    with transaction.atomic():
        instance.delete()
