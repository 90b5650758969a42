"""Fixtures of the forecast page tests: stored forecast runs and a backtest made by the real services.

Made once for the module (training and simulating take seconds) and committed, then deleted at the end, so
that every test (each in its own rolled-back transaction) sees them and the other tests' database does not:

- a win model trained on what was known before 2017-10-01 (the active one: both runs use it);
- two forecasts of 2017-Q4, as of 2017-10-01 and as of 2017-11-01 (the movers compare them);
- a quarterly backtest over 2017-Q3 and 2017-Q4 by the engine with the stage-rate model (cheap to train),
  stored as ``services.run_backtest`` stores it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.test import Client

DARCEL = "darcel.schlecht"  # a rep of Melvin's team
MELVIN = "melvin.marxen"  # a manager
ADMIN = "fc.admin"


@dataclass
class Stored:
    first: object  # ForecastRun as of 2017-10-01
    second: object  # ForecastRun as of 2017-11-01 (the latest of 2017-Q4)
    backtest: object  # BacktestRun
    model: object  # WinModelVersion


def _backtest(seed: int = 0) -> dict:
    from revcast.forecasting.adapter import load_tables
    from revcast.forecasting.engine import backtest, winmodel

    def stage_rates(tables, cutoff, seed):  # the fallback model: a real one, seconds cheaper than LightGBM
        return winmodel.train(tables, cutoff, seed=seed, min_won=10**9)

    return backtest.backtest(load_tables(None), "quarter", "start", "2017-07-01", "2017-10-01", seed=seed,
                             draws=500, train=stage_rates)


@pytest.fixture(scope="module")
def stored(django_db_setup, django_db_blocker):
    from revcast.forecasting import services
    from revcast.forecasting.models import BacktestRun, ForecastRun, WinModelVersion
    from revcast.org.models import User

    with django_db_blocker.unblock():
        before = {m: set(m.objects.values_list("pk", flat=True)) for m in (ForecastRun, BacktestRun, WinModelVersion)}
        admin, _ = User.objects.get_or_create(username=ADMIN, defaults={"role": User.Role.ADMIN, "is_staff": True,
                                                                        "is_superuser": True})
        try:
            model = services.train_model(cutoff="2017-10-01")
            first = services.run_forecast(period="2017-Q4", as_of="2017-10-01", draws=500)
            second = services.run_forecast(period="2017-Q4", as_of="2017-11-01", draws=500)
            assert first.model_id == second.model_id == model.pk
            result = _backtest()
            backtest = BacktestRun.objects.create(period_kind="quarter", at="start", start="2017-07-01",
                                                  end="2017-10-01", result=result)
            yield Stored(first=first, second=second, backtest=backtest, model=model)
        finally:
            for m, pks in before.items():
                m.objects.exclude(pk__in=pks).delete()
            admin.delete()


@pytest.fixture
def client_for(stored, db):
    """A test client logged in as a Maven user, or ``"admin"``; ``language`` is the Accept-Language."""
    from revcast.org.models import User

    def make(username: str, language: str = "en") -> Client:
        user = User.objects.get(username=ADMIN if username == "admin" else username)
        client = Client(HTTP_ACCEPT_LANGUAGE=language)
        client.force_login(user)
        return client

    return make


@pytest.fixture(autouse=True)
def _english_afterwards():
    from django.utils import translation

    yield
    translation.activate("en")
