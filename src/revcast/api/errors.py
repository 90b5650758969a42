"""One body for every API error::

    {"error": {"status": 400, "code": "invalid", "message": "Invalid input: amount: ...",
               "fields": {"amount": [{"message": "...", "code": "..."}]}}}

``fields`` is present only for validation errors; nested fields are named with dots (``custom.deal_type``,
``lines.0.amount``), errors about the whole record are under ``non_field_errors``.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.db.models import ProtectedError, RestrictedError
from django.http import Http404, HttpRequest, JsonResponse
from django.utils.encoding import force_str
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import set_rollback

from revcast.reporting.params import ReportError

logger = logging.getLogger("revcast.api")

NON_FIELD = api_settings.NON_FIELD_ERRORS_KEY  # "non_field_errors"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("The request conflicts with the current state of the record.")
    default_code = "conflict"


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = _("The record changed since you read it.")
    default_code = "precondition_failed"


class PreconditionRequired(exceptions.APIException):
    status_code = status.HTTP_428_PRECONDITION_REQUIRED
    default_detail = _("This change needs the version you read: an If-Match header or 'version' in the body.")
    default_code = "precondition_required"


class ServerError(exceptions.APIException):
    status_code = status.HTTP_500_INTERNAL_SERVER_ERROR
    default_detail = _("Internal server error. It has been logged.")
    default_code = "server_error"


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF's EXCEPTION_HANDLER: every exception becomes the one error body."""
    api_exc = as_api_exception(exc)
    if api_exc is None:
        view = context.get("view")
        logger.error("API error in %s", type(view).__name__ if view else "?", exc_info=exc)
        api_exc = ServerError()
    headers: dict[str, str] = {}
    auth_header = getattr(api_exc, "auth_header", None)
    if auth_header:
        headers["WWW-Authenticate"] = auth_header
    wait = getattr(api_exc, "wait", None)
    if wait is not None:
        headers["Retry-After"] = str(max(1, math.ceil(wait)))
    set_rollback()
    return Response(error_body(api_exc), status=api_exc.status_code, headers=headers)


def as_api_exception(exc: Exception) -> exceptions.APIException | None:
    """The DRF exception standing for ``exc``; None for an unexpected error (a 500)."""
    if isinstance(exc, exceptions.APIException):
        return exc
    if isinstance(exc, DjangoValidationError):
        return exceptions.ValidationError(django_validation_detail(exc))
    if isinstance(exc, ReportError):
        return exceptions.ValidationError({NON_FIELD: [exceptions.ErrorDetail(str(exc), code="invalid")]})
    if isinstance(exc, Http404 | ObjectDoesNotExist):
        return exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied()
    if isinstance(exc, ProtectedError | RestrictedError):
        objects = getattr(exc, "protected_objects", None) or getattr(exc, "restricted_objects", None) or ()
        kinds = sorted({force_str(o._meta.verbose_name_plural) for o in objects})
        return Conflict(
            _("This record is still used by other records (%(kinds)s) and cannot be deleted.")
            % {"kinds": ", ".join(kinds) or "?"},
            code="in_use",
        )
    if isinstance(exc, IntegrityError):
        return Conflict(_("The change conflicts with existing data (for example a duplicate)."), code="conflict")
    return None


def django_validation_detail(exc: DjangoValidationError) -> dict[str, list[exceptions.ErrorDetail]]:
    """A Django ValidationError (from a model or a service) as DRF error details keyed by field."""

    def details(errors: list[DjangoValidationError]) -> list[exceptions.ErrorDetail]:
        out = []
        for error in errors:
            message = error.message % error.params if error.params else error.message
            out.append(exceptions.ErrorDetail(force_str(message), code=error.code or "invalid"))
        return out

    if hasattr(exc, "error_dict"):
        return {
            (NON_FIELD if name == "__all__" else name): details(errors) for name, errors in exc.error_dict.items()
        }
    return {NON_FIELD: details(exc.error_list)}


def flatten(detail: Any, prefix: str = "") -> dict[str, list[dict[str, str]]]:
    """DRF error details (nested dicts and lists) as ``{"a.b": [{"message", "code"}]}``."""
    out: dict[str, list[dict[str, str]]] = {}

    def add(key: str, item: Any) -> None:
        out.setdefault(key or NON_FIELD, []).append(
            {"message": force_str(item), "code": getattr(item, "code", None) or "invalid"}
        )

    def walk(value: Any, key: str) -> None:
        if isinstance(value, dict):
            for name, sub in value.items():
                name = str(name)
                walk(sub, key if name == NON_FIELD and key else (f"{key}.{name}" if key else name))
        elif isinstance(value, list | tuple):
            for i, sub in enumerate(value):
                if isinstance(sub, dict | list | tuple):
                    walk(sub, f"{key}.{i}" if key else str(i))
                else:
                    add(key, sub)
        else:
            add(key, value)

    walk(detail, prefix)
    return out


def error_body(exc: exceptions.APIException) -> dict[str, Any]:
    if isinstance(exc, exceptions.ValidationError):
        fields = flatten(exc.detail)
        summary = "; ".join(
            (f"{name}: {errors[0]['message']}" if name != NON_FIELD else errors[0]["message"])
            for name, errors in list(fields.items())[:3]
        )
        if len(fields) > 3:
            summary += "; …"
        return {
            "error": {
                "status": exc.status_code,
                "code": "invalid",
                "message": force_str(_("Invalid input: %(summary)s") % {"summary": summary})
                if summary
                else force_str(_("Invalid input.")),
                "fields": fields,
            }
        }
    detail = exc.detail
    if isinstance(detail, dict | list):  # an APIException raised with structured detail: keep its text
        flat = flatten(detail)
        message = "; ".join(e["message"] for errors in flat.values() for e in errors)
        code = next((e["code"] for errors in flat.values() for e in errors), exc.default_code)
    else:
        message, code = force_str(detail), getattr(detail, "code", None) or exc.default_code
    return {"error": {"status": exc.status_code, "code": str(code), "message": message}}


@csrf_exempt  # an unknown address is a 404 for every method, never a CSRF 403 page
def not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Any /api/ URL no endpoint answers: 404 in the error shape (a hint when only the slash is missing)."""
    from django.urls import Resolver404, resolve

    message = force_str(_("No API endpoint at this address."))
    if not request.path.endswith("/"):
        try:
            match = resolve(request.path + "/")
        except Resolver404:
            match = None
        if match is not None and match.func is not not_found:
            message = force_str(_("No API endpoint at this address; did you mean %(path)s?")) % {
                "path": request.path + "/"
            }
    body = {"error": {"status": 404, "code": "not_found", "message": message}}
    return JsonResponse(body, status=404)
