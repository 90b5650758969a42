"""The nightly job: queued in the database, run by the real `db_worker` command, and run inline."""

from __future__ import annotations

import io
import signal

import pandas as pd
import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from revcast.forecasting.engine.periods import period_of
from revcast.forecasting.models import ForecastRun, WinModelVersion


@pytest.fixture
def worker_in_test_transaction(monkeypatch):
    """The worker closes "old" database connections between tasks; inside a test the connection holds the test's
    transaction, so that one housekeeping call is switched off (as the Django test client does for requests).
    The worker also installs signal handlers; they are put back afterwards."""
    from django_tasks_db.management.commands import db_worker

    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}
    yield
    for s, handler in saved.items():
        signal.signal(s, handler)


def _current_periods() -> set[str]:
    now = pd.Timestamp(timezone.now())
    return {period_of(now, "month").label, period_of(now, "quarter").label}


def test_enqueue_then_the_worker_runs_the_nightly_forecast(maven, worker_in_test_transaction):
    out = io.StringIO()
    call_command("forecast", "nightly", "--enqueue", stdout=out)
    queued = DBTaskResult.objects.get()
    assert queued.task_path == "revcast.forecasting.tasks.nightly_forecast" and queued.status == "READY"
    assert queued.queue_name == "forecasting" and str(queued.id) in out.getvalue()
    assert not ForecastRun.objects.exists()

    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", "--queue-name", "forecasting",
                 verbosity=0)

    queued.refresh_from_db()
    assert queued.status == "SUCCESSFUL", (queued.exception_class_path, queued.traceback)
    runs = ForecastRun.objects.filter(source="nightly")
    assert set(runs.values_list("period", flat=True)) == _current_periods()
    model = WinModelVersion.objects.get(is_active=True)
    assert model.source == "nightly" and set(runs.values_list("model", flat=True)) == {model.pk}
    # The week's snapshot of the forecast calls of both periods, one row per person and one for the company.
    from revcast.forecasting.models import ForecastSnapshot

    taken = {p: ForecastSnapshot.objects.filter(period=p).count() for p in _current_periods()}
    assert min(taken.values()) > 1
    assert queued.return_value == {"model": model.pk, "verdict": model.verdict,
                                   "runs": {r.period: r.pk for r in runs}, "snapshots": taken}


def test_nightly_inline(maven):
    out = io.StringIO()
    call_command("forecast", "nightly", stdout=out)
    model = WinModelVersion.objects.get(is_active=True)
    assert f"model #{model.pk}: {model.verdict}" in out.getvalue()
    assert set(ForecastRun.objects.values_list("period", flat=True)) == _current_periods()
    assert not DBTaskResult.objects.exists()
