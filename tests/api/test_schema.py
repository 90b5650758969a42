"""The OpenAPI schema is valid and without warnings, and the API keeps to it (schemathesis, every operation).

schemathesis generates requests for every operation of /api/schema/ (valid and invalid ones) and sends them to
the WSGI application, authenticated as an admin with a Bearer token, inside the test's rolled-back transaction.
Every response must be no 5xx, have a documented status code and content type, and match its schema. Half the
generated record ids are replaced by ids that exist, so that reads, updates and deletes of real records are
exercised too, not only 404s (and half the If-Match headers of those name the current version).
"""

from __future__ import annotations

import io
import os

import pytest
import schemathesis
from django.core.management import call_command
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from revcast.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)

# A bounded run by default (the whole module takes about a minute on 2 cores). For a deeper search:
# REVCAST_SCHEMATHESIS_EXAMPLES=200 REVCAST_SCHEMATHESIS_RANDOM=1 pytest tests/api/test_schema.py
EXAMPLES = int(os.environ.get("REVCAST_SCHEMATHESIS_EXAMPLES", "12"))
DERANDOMIZE = not os.environ.get("REVCAST_SCHEMATHESIS_RANDOM")

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
MODELS = {
    "opportunities": "pipeline.Opportunity",
    "accounts": "customers.Account",
    "contacts": "customers.Contact",
    "activities": "activities.Activity",
    "products": "pipeline.Product",
    "stages": "pipeline.Stage",
}


@pytest.fixture
def wsgi_in_test_transaction():
    """Like Django's test client: requests must not close the connection holding the test's transaction."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def admin_token(maven, wsgi_in_test_transaction):
    from django.core.cache import cache

    from revcast.activities.models import Activity
    from revcast.api.services import create_token
    from revcast.customers.models import Contact
    from revcast.org.models import User
    from revcast.pipeline.models import Opportunity

    cache.clear()  # throttle counts
    admin = User.objects.create(username="schema.admin", role=User.Role.ADMIN)
    opp = Opportunity.objects.order_by("pk").first()
    contact = Contact.objects.create(last_name="Example", account=opp.account, owner=opp.owner)
    Activity.objects.create(type="call", occurred_at=opp.created_at, owner=opp.owner, opportunity=opp,
                            account=opp.account, contact=contact)
    return create_token(admin, name="schemathesis")[1]


def _real_ids(path: str) -> list[int]:
    from django.apps import apps

    parts = path.strip("/").split("/")
    if len(parts) < 2 or parts[1] not in MODELS:
        return []
    return list(apps.get_model(MODELS[parts[1]]).objects.order_by("pk").values_list("pk", flat=True)[:20])


# A forecast run is real work (seconds each): it gets a few examples of its own, the rest get EXAMPLES.
RUNS = {"path": "/api/forecast/runs/", "method": "POST"}
SETTINGS = {"deadline": None, "derandomize": DERANDOMIZE, "database": None,
            "suppress_health_check": list(HealthCheck)}


@schema.exclude(**RUNS).parametrize()
@settings(max_examples=EXAMPLES, **SETTINGS)
def test_every_operation_keeps_to_the_schema(case, admin_token):
    _call_and_validate(case, admin_token)


@schema.include(**RUNS).parametrize()
@settings(max_examples=4, **SETTINGS)
def test_forecast_runs_keep_to_the_schema(case, admin_token):
    if isinstance(case.body, dict) and "as_of" in case.body:
        # A forecast as of a new past date trains a model on what was known then: keep to one such date.
        case.body["as_of"] = "2017-10-01"
    _call_and_validate(case, admin_token)


def _call_and_validate(case, admin_token) -> None:
    generated = str((case.path_parameters or {}).get("id", ""))
    if generated.lstrip("-").isdigit() and int(generated) % 2 == 0:
        ids = _real_ids(case.operation.path)
        if ids:
            case.path_parameters["id"] = ids[int(generated) % len(ids)]
            if_match = (case.headers or {}).get("If-Match")
            if case.operation.path == "/api/opportunities/{id}/" and if_match is not None and len(if_match) % 2 == 0:
                # Half the preconditions name the current version, so that updates get through too.
                from revcast.pipeline.models import Opportunity

                version = Opportunity.objects.get(pk=case.path_parameters["id"]).version
                case.headers["If-Match"] = f'"{version}"'
    case.call_and_validate(headers={"Authorization": f"Bearer {admin_token}"}, checks=CHECKS)


def test_the_schema_validates_without_warnings(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out), stdout=io.StringIO())
    text = out.read_text()
    for expected in ("/api/opportunities/{id}/history/:", "/api/reports/{name}/:", "bearerAuth", "If-Match",
                     "ETag", "'412':", "'428':", "Error:"):
        assert expected in text, expected


def test_every_operation_is_generated():
    operations = [op.ok() for op in schema.get_all_operations()]
    # 39 + the six forecast operations (test_forecast_api.py) + five of the collaborative forecast
    # (submissions and adjustments: list and create; the roll-up: test_collab_api.py)
    assert len(operations) == 50
