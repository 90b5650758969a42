"""Every error has the one body: {"error": {"status", "code", "message", ["fields"]}}."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.throttling import UserRateThrottle

from revcast.pipeline.models import Opportunity, Stage


def assert_error(response: Any, status: int, code: str, message: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert error["status"] == status and error["code"] == code and isinstance(error["message"], str)
    assert error["message"]
    if message is not None:
        assert error["message"] == message
    assert set(error) <= {"status", "code", "message", "fields"}
    return error


@pytest.fixture
def admin(api, users):
    return api(users.admin)


def test_400_validation_with_fields(admin):
    response = admin.post(
        "/api/opportunities/",
        {"stage": "Nope", "amount": "abc", "probability": 300, "currency": "usd", "custom": {"x": 1}},
        format="json",
    )
    error = assert_error(response, 400, "invalid")
    assert error["fields"] == {
        "stage": [{"message": "Object with name=Nope does not exist.", "code": "does_not_exist"}],
        "amount": [{"message": "A valid number is required.", "code": "invalid"}],
        "probability": [{"message": "Ensure this value is less than or equal to 100.", "code": "max_value"}],
        "currency": [{"message": "A three-letter currency code, e.g. USD.", "code": "invalid"}],
    }
    assert error["message"] == (
        "Invalid input: amount: A valid number is required.; currency: A three-letter currency code, e.g. USD.; "
        "stage: Object with name=Nope does not exist.; …"
    )


def test_400_custom_fields_from_the_service_are_named_with_dots(admin):
    response = admin.post("/api/opportunities/", {"stage": "Prospecting", "custom": {"nope": "1"}}, format="json")
    error = assert_error(response, 400, "invalid")
    assert error["fields"] == {
        "custom.nope": [{"message": "no active custom field 'nope' on opportunity", "code": "invalid"}]
    }


def test_400_non_field_and_parse_errors(admin):
    error = assert_error(admin.get("/api/reports/win-rate/", {"from": "2017-12-31", "to": "2017-01-01"}), 400,
                         "invalid")
    assert error["fields"] == {
        "non_field_errors": [{"message": "--from 2017-12-31 is after --to 2017-01-01", "code": "invalid"}]
    }
    response = admin.generic("POST", "/api/activities/", "{not json", content_type="application/json")
    error = assert_error(response, 400, "parse_error")
    assert "fields" not in error
    error = assert_error(admin.post("/api/activities/", ["a", "list"], format="json"), 400, "invalid")
    assert error["fields"]["non_field_errors"][0]["code"] == "invalid"
    error = assert_error(admin.get("/api/opportunities/", {"closed_from": "yesterday"}), 400, "invalid")
    assert error["fields"] == {"closed_from": [{"message": "Enter a valid date.", "code": "invalid"}]}
    error = assert_error(admin.get("/api/opportunities/", {"search": "a\x00b"}), 400, "invalid")
    assert error["fields"] == {"search": [{"message": "Null characters are not allowed.", "code": "invalid"}]}


def test_401(api):
    from rest_framework.test import APIClient

    assert_error(APIClient().get("/api/stages/"), 401, "not_authenticated")


def test_403(api, users):
    assert_error(api(users.fin_all).post("/api/activities/", {}, format="json"), 403, "permission_denied",
                 "Your role may only read.")
    assert_error(api(users.darcel).post("/api/stages/", {}, format="json"), 403, "permission_denied",
                 "Only an administrator may change reference data.")


def test_404(admin):
    assert_error(admin.get("/api/opportunities/999999999/"), 404, "not_found", "Not found.")
    assert_error(admin.get("/api/opportunities/abc/"), 404, "not_found")
    assert_error(admin.get("/api/opportunities/", {"page": 9999}), 404, "not_found", "Invalid page.")
    assert_error(admin.get("/api/reports/nope/"), 404, "not_found")
    assert_error(admin.get("/api/nowhere/"), 404, "not_found", "No API endpoint at this address.")
    assert_error(admin.get("/api/stages"), 404, "not_found",
                 "No API endpoint at this address; did you mean /api/stages/?")


def test_405(admin):
    assert_error(admin.post("/api/reports/", {}, format="json"), 405, "method_not_allowed",
                 'Method "POST" not allowed.')
    assert_error(admin.delete("/api/opportunities/"), 405, "method_not_allowed")


def test_409_record_in_use(admin):
    stage = Stage.objects.get(name="Won")
    error = assert_error(admin.delete(f"/api/stages/{stage.pk}/"), 409, "in_use")
    assert error["message"] == "This record is still used by other records (opportunities) and cannot be deleted."
    assert Stage.objects.filter(pk=stage.pk).exists()


def test_409_412_428_on_opportunity_updates(admin):
    opp = Opportunity.objects.order_by("pk").first()
    url = f"/api/opportunities/{opp.pk}/"
    error = assert_error(admin.patch(url, {"amount": "5.00"}, format="json"), 428, "precondition_required")
    assert error["message"] == "This change needs the version you read: an If-Match header or 'version' in the body."
    assert_error(admin.patch(url, {"amount": "5.00"}, format="json", HTTP_IF_MATCH="*"), 428,
                 "precondition_required")
    error = assert_error(admin.patch(url, {"amount": "5.00"}, format="json", HTTP_IF_MATCH='"7"'), 412,
                         "precondition_failed")
    assert error["message"] == "The opportunity changed since you read it: it is at version 1, not 7."
    assert_error(admin.patch(url, {"amount": "5.00"}, format="json", HTTP_IF_MATCH="garbage"), 412,
                 "precondition_failed", "If-Match names no version of this opportunity.")
    error = assert_error(admin.patch(url, {"amount": "5.00", "version": 7}, format="json"), 409, "stale_version")
    opp.refresh_from_db()
    assert opp.version == 1 and opp.amount != 5


def test_429_with_retry_after(api, users, monkeypatch):
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {"user": "2/minute"})
    client = api(users.darcel)
    assert client.get("/api/stages/").status_code == 200
    assert client.get("/api/stages/").status_code == 200
    response = client.get("/api/stages/")
    error = assert_error(response, 429, "throttled")
    assert error["message"].startswith("Request was throttled. Expected available in ")
    assert 1 <= int(response["Retry-After"]) <= 60


def test_500_in_the_error_shape(rf, caplog):
    from revcast.api.errors import exception_handler

    response = exception_handler(RuntimeError("boom"), {"view": None})
    assert response.status_code == 500
    assert response.data == {
        "error": {"status": 500, "code": "server_error", "message": "Internal server error. It has been logged."}
    }
    assert "boom" in caplog.text


def test_nested_errors_are_flattened():
    from rest_framework.exceptions import ErrorDetail

    from revcast.api.errors import flatten

    detail = {
        "lines": [{}, {"amount": [ErrorDetail("bad", code="invalid")]}],
        "custom": {"non_field_errors": [ErrorDetail("whole", code="x")], "k": ["plain"]},
        "non_field_errors": [ErrorDetail("top", code="y")],
    }
    assert flatten(detail) == {
        "lines.1.amount": [{"message": "bad", "code": "invalid"}],
        "custom": [{"message": "whole", "code": "x"}],
        "custom.k": [{"message": "plain", "code": "invalid"}],
        "non_field_errors": [{"message": "top", "code": "y"}],
    }


@pytest.mark.parametrize(
    "query",
    [{"period": "9999"}, {"period": "9999-12"}, {"period": "9999-Q4"}, {"stale": "1", "stale_days": "99999999"},
     {"stale": "1", "stale_days": "1e12"}],
)
def test_out_of_range_filter_values_are_bad_input_not_server_errors(admin, query):
    response = admin.get("/api/opportunities/", query)
    if response.status_code != 200:  # an empty list is a fine answer too
        assert_error(response, 400, "invalid")


def test_a_report_period_beyond_year_9999_is_bad_input(admin):
    assert_error(admin.get("/api/reports/win-rate/", {"where": "year=9999"}), 400, "invalid")


def test_null_characters_in_names_are_bad_input_on_every_database(admin):
    response = admin.post("/api/opportunities/", {"stage": "Won\x00", "owner": "a\x00", "product": 5}, format="json")
    error = assert_error(response, 400, "invalid")
    message = [{"message": "Expected a name (text without null characters).", "code": "invalid"}]
    assert error["fields"] == {"owner": message, "product": message, "stage": message}
