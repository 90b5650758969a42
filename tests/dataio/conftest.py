"""Fixtures of the dataio tests (helpers live in support.py)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import configuration

from tests.dataio import legacy_crm
from tests.dataio.support import MAVEN_DIR

# Hypothesis keeps caches in ./.hypothesis by default; keep the repository clean.
configuration.set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "revcast-tests-hypothesis")


@pytest.fixture
def mapping_obj(maven_mapping_path):
    from revcast.dataio import mapping

    return mapping.load(maven_mapping_path)


@pytest.fixture
def maven_copy(tmp_path: Path) -> Path:
    """A writable copy of the whole Maven folder (the originals are read-only)."""
    target = tmp_path / "maven_copy"
    shutil.copytree(MAVEN_DIR, target, copy_function=shutil.copyfile)
    return target


@pytest.fixture
def legacy(tmp_path: Path) -> tuple[str, Path]:
    """The legacy CRM (legacy_crm.py) in a SQLite file, and its mapping: (source URL, mapping path)."""
    path = tmp_path / "legacy.db"
    legacy_crm.create(f"sqlite:///{path}")
    mapping = tmp_path / "legacy.yaml"
    mapping.write_text(legacy_crm.MAPPING, encoding="utf-8")
    return f"sqlite:///{path}", mapping
