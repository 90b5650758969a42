"""The data history page: admins see runs and change sets, roll back a run and undo a change set; nobody
else reaches any of it."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.dataio.support import db_snapshot, import_with_pipeline, pipeline_row

pytestmark = pytest.mark.usefixtures("maven")


@pytest.fixture
def admin_client():
    from revcast.org.models import User

    admin = User.objects.create_user("hist.admin", password="x", role="admin")
    client = Client()
    client.force_login(admin)
    return client


@pytest.mark.parametrize("username", ["darcel.schlecht", "melvin.marxen"])
def test_reps_and_managers_get_403_everywhere(username):
    from revcast.dataio.models import ChangeSet, ImportRun
    from revcast.org.models import User

    client = Client()
    client.force_login(User.objects.get(username=username))
    run = ImportRun.objects.order_by("pk").first()
    cs = ChangeSet.objects.order_by("pk").first()
    assert client.get("/data/history/").status_code == 403
    assert client.get(f"/data/history/changes/{cs.pk}/").status_code == 403
    assert client.post(f"/data/history/runs/{run.pk}/rollback/").status_code == 403
    assert client.post(f"/data/history/changes/{cs.pk}/undo/").status_code == 403
    assert not ChangeSet.objects.filter(kind__in=["rollback", "undo"]).exists()


def test_admin_rolls_back_a_run_and_undoes_the_rollback(admin_client, maven_copy, mapping_obj):
    from revcast.dataio.models import ChangeSet
    from revcast.pipeline.models import Opportunity

    extra = [pipeline_row(opportunity_id="WEBHIST1", sales_agent="Darcel Schlecht", product="GTX Basic",
                          deal_stage="Prospecting")]
    before, run = import_with_pipeline(maven_copy, mapping_obj, extra=extra)
    page = admin_client.get("/data/history/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f'data-run="{run.pk}"' in html
    journal = ChangeSet.objects.get(run=run, kind="import")
    assert f'data-changeset="{journal.pk}"' in html

    detail = admin_client.get(f"/data/history/changes/{journal.pk}/").content.decode()
    assert "opportunities" in detail

    response = admin_client.post(f"/data/history/runs/{run.pk}/rollback/", follow=True)
    assert response.status_code == 200
    assert not Opportunity.objects.filter(external_id="WEBHIST1").exists()
    assert db_snapshot() == before
    rollback = ChangeSet.objects.get(run=run, kind="rollback")
    assert "rc-rolled-back" in response.content.decode()

    admin_client.post(f"/data/history/changes/{rollback.pk}/undo/", follow=True)
    assert Opportunity.objects.filter(external_id="WEBHIST1").exists()
    again = admin_client.post(f"/data/history/changes/{rollback.pk}/undo/", follow=True).content.decode()
    assert "already undone" in again
