"""``Authorization: Bearer TOKEN`` authentication for the REST API (tokens from ``revcast token create``)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from revcast.api import services

KEYWORD = "Bearer"


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """Authenticates a request carrying ``Authorization: Bearer TOKEN``.

    A request without that header is left to the next authentication class (the browser session). A request
    with a bad token (unknown, revoked, expired, or of an inactive user) is refused with 401.
    """

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != KEYWORD.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Invalid Authorization header: expected 'Bearer TOKEN'."))
        try:
            raw = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("Invalid token.")) from None
        try:
            token = services.authenticate_token(raw)
        except services.TokenError as exc:
            raise exceptions.AuthenticationFailed(_MESSAGES.get(str(exc), _("Invalid token."))) from None
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        # Makes unauthenticated requests a 401 (with this challenge) rather than a 403.
        return f'{KEYWORD} realm="api"'


_MESSAGES = {
    "invalid token": _("Invalid token."),
    "token revoked": _("Token revoked."),
    "token expired": _("Token expired."),
    "user inactive": _("User inactive or deleted."),
}


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "revcast.api.auth.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A token from `revcast token create USERNAME`: `Authorization: Bearer rc_...`.",
        }
