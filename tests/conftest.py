"""Shared fixtures: the Maven data set, imported once per test session through the real import path."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAVEN_DIR = ROOT / "src" / "revcast" / "demo_data" / "maven_crm"
MAVEN_MAPPING = ROOT / "mappings" / "maven_crm.yaml"


@pytest.fixture(scope="session")
def maven_dir() -> Path:
    return MAVEN_DIR


@pytest.fixture(scope="session")
def maven_mapping_path() -> Path:
    return MAVEN_MAPPING


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The test database always holds the Maven data, imported once through the real import path.

    Every test runs in a transaction rolled back at its end, so the data is the same for each test.
    (Tests with ``transaction=True`` would flush it: don't use them without reloading.)
    """
    from revcast.dataio import mapping
    from revcast.dataio.runner import run_import

    with django_db_blocker.unblock():
        run = run_import(MAVEN_DIR, mapping.load(MAVEN_MAPPING))
        assert run.status == "succeeded", list(run.issues.values_list("reason", flat=True)[:5])
    return run


@pytest.fixture(scope="session")
def maven_import(django_db_setup):
    return django_db_setup


@pytest.fixture
def maven(maven_import, db):
    """The Maven data, loaded; each test runs in a transaction rolled back at its end."""
    return maven_import


def pytest_sessionfinish(session, exitstatus):
    """In CI nothing may be skipped: a skipped test fails the run (both databases must really be tested)."""
    import os

    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if os.environ.get("CI") and skipped and session.exitstatus == 0:
        reporter.write_line(f"CI: {skipped} test(s) skipped; nothing may be skipped in CI", red=True)
        session.exitstatus = 1


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the default language: a request with Chinese preferences activates Chinese for
    the thread (LocaleMiddleware), which must not leak into the next test's messages."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)
