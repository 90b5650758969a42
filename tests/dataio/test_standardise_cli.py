"""`revcast standardise preview|apply|undo` through the management command."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.dataio.standardise_support import EXPECTED_EMAILS, EXPECTED_PHONES, make_accounts, make_contacts

pytestmark = pytest.mark.usefixtures("maven")


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("standardise", *args, stdout=out)
    return out.getvalue()


def test_preview_json():
    make_contacts()
    out = json.loads(
        run("preview", "--object", "contact", "--fix", "phones", "--fix", "emails", "--format", "json")
    )
    assert out["counts"] == {
        "phones": {"changes": len(EXPECTED_PHONES), "records": len(EXPECTED_PHONES), "problems": 1},
        "emails": {"changes": len(EXPECTED_EMAILS), "records": len(EXPECTED_EMAILS), "problems": 1},
    }
    assert sorted(f["new"] for f in out["fixes"] if f["kind"] == "phones") == sorted(EXPECTED_PHONES.values())


def test_preview_table_and_map():
    make_accounts()
    table = run("preview", "--object", "account", "--fix", "picklists")
    assert "account.industry:technolgy" in table and "technology" in table
    out = json.loads(
        run(
            "preview",
            "--object",
            "account",
            "--fix",
            "picklists",
            "--map",
            "industry:technolgy=technology",
            "--format",
            "json",
        )
    )
    assert sum(1 for f in out["fixes"] if f["old"] == "technolgy" and f["new"] == "technology") == 3


def test_apply_and_undo():
    from revcast.customers.models import Contact

    contacts = make_contacts()
    before = {c.pk: (c.phone, c.email) for c in contacts.values()}
    out = json.loads(
        run("apply", "--object", "contact", "--fix", "phones", "--region", "CN", "--format", "json")
    )
    assert out["applied"] == {"phones": len(EXPECTED_PHONES)} and out["problems"] == 1
    assert Contact.objects.get(pk=contacts["Std-A"].pk).phone == EXPECTED_PHONES["Std-A"]
    text = run("undo", "--changeset", str(out["changeset"]))
    assert f"change set #{out['changeset']} undone" in text
    assert {c.pk: (c.phone, c.email) for c in Contact.objects.filter(pk__in=before)} == before


def test_errors_are_command_errors():
    make_accounts()
    with pytest.raises(CommandError, match="undo needs --changeset"):
        run("undo")
    with pytest.raises(CommandError, match="phone region"):
        run("preview", "--region", "XX")
    with pytest.raises(CommandError, match=r"expected \[object\.\]field:value=code"):
        run("preview", "--map", "industry-technolgy")
    with pytest.raises(CommandError, match="not a picklist field"):
        run("preview", "--map", "colour:red=blue")
    with pytest.raises(CommandError, match="no change set"):
        run("undo", "--changeset", "999999999")
