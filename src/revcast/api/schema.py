"""OpenAPI generation: every operation documents the error responses it can give, with the one error body."""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse

from revcast.api.serializers.errors import ErrorSerializer

ERROR_DESCRIPTIONS = {
    400: "Invalid input: `fields` names what is wrong.",
    401: "No credentials, or a token that is unknown, revoked or expired.",
    403: "Your role may not do this (finance and viewer read only; reference data is admin only).",
    404: "No such record, or not one you may see.",
    409: "Conflict: the `version` in the body is stale, or the record is still in use.",
    412: "Precondition failed: `If-Match` names a version other than the current one.",
    428: "Precondition required: send `If-Match: \"<version>\"` or `version` in the body.",
    429: "Too many requests: wait for `Retry-After` seconds.",
}
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class ApiAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema plus the error responses of each operation.

    Every operation: 401, 429. Writes: 400, 403, 409. Lists: 400 (a bad filter), 404 (a page past the end).
    Operations on one record: 404. A view adds more per action with ``error_statuses = {action: {codes}}``.
    """

    def error_statuses(self) -> set[int]:
        codes = {401, 429}
        if self.method not in SAFE_METHODS:
            codes |= {400, 403}
            if self.method in ("PUT", "PATCH", "DELETE"):
                codes.add(409)
        if self._is_list_view():
            codes |= {400, 404}
        if "{" in self.path:
            codes.add(404)
        action = getattr(self.view, "action", None) or self.method.lower()
        codes |= set(getattr(self.view, "error_statuses", {}).get(action, ()))
        return codes

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        for code in sorted(self.error_statuses()):
            response = OpenApiResponse(ErrorSerializer, description=ERROR_DESCRIPTIONS[code])
            responses.setdefault(str(code), self._get_response_for_code(response, str(code), direction=direction))
        return responses
