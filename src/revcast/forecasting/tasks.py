"""Background jobs of the forecasting app (django-tasks, run by ``revcast db_worker``).

Schedule the nightly job with cron (or a systemd timer) calling ``revcast forecast nightly --enqueue``; a
worker (``revcast db_worker --queue-name forecasting``) picks it up. ``revcast forecast nightly`` without
``--enqueue`` runs it in the calling process instead. Code that queues it inside a transaction does so with
``transaction.on_commit(lambda: nightly_forecast.enqueue())``, so that a rolled-back caller queues nothing.
"""

from __future__ import annotations

from typing import Any

from django_tasks import task

from revcast.forecasting import services

QUEUE = "forecasting"


@task(queue_name=QUEUE)
def nightly_forecast(seed: int = 0) -> dict[str, Any]:
    """Retrain the win model on everything known now, then forecast the current month and quarter."""
    return services.nightly(seed=seed)

