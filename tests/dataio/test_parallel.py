"""Loader processes per key range (dataio.parallel, ADR 0024): how many, where the ranges split, and how a
failing loader stops the others and is reported. The end-to-end kill-and-resume of a migration loaded in two
ranges is in test_migrate_e2e.py; the ranges here are checked against the legacy CRM's raw keys."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from revcast.dataio import parallel
from revcast.dataio.readers import SourceError
from revcast.dataio.sqlsource import KeyValue, SqlSource
from tests.dataio import legacy_crm, pg_support


def test_auto_uses_the_cores_for_large_sources_only_and_a_number_is_taken_as_asked():
    cores = os.cpu_count() or 1
    assert parallel.worker_count("auto", parallel.AUTO_MIN_ROWS - 1) == 1
    assert parallel.worker_count("auto", 10**7) == cores
    assert parallel.worker_count("auto", parallel.AUTO_MIN_ROWS) == min(cores, 2)
    assert parallel.worker_count(3, 100) == 3
    assert parallel.worker_count(3, 2) == 2  # never more loaders than rows


def test_ranges_split_the_source_in_key_order_into_equal_row_counts(django_db_blocker):
    deals = sorted(row[0] for row in legacy_crm.rows()["deals"])
    with django_db_blocker.unblock(), pg_support.server() as server, pg_support.database(server, "split_src") as url:
        legacy_crm.create(url)
        with SqlSource(url) as source:
            parts = parallel.split(source, "deals", None, "deal_no", len(deals), 3)
            loaded = []
            for part in parts:
                lo = KeyValue.load(part["lo"]) if part["lo"] else None
                hi = KeyValue.load(part["hi"]) if part["hi"] else None
                rows = [r for batch in source.stream("deals", None, "deal_no", 7, lo, part["first_line"], hi)
                        for r in batch]
                # each range starts at its own position in key order
                assert [r.line for r in rows] == list(range(part["first_line"], part["first_line"] + len(rows)))
                loaded.append([r.values["deal_no"] for r in rows])
    assert [len(keys) for keys in loaded] == [len(deals) * (i + 1) // 3 - len(deals) * i // 3 for i in range(3)]
    assert [k for keys in loaded for k in keys] == deals  # every key once, in order
    assert parts[0]["lo"] is None and parts[-1]["hi"] is None


def _boom(index: int) -> None:
    if index == 1:
        raise SourceError("the source went away")
    time.sleep(30)  # stopped by the parent once range 2 fails


def test_a_failing_loader_stops_the_others_and_its_error_is_raised():
    started = time.monotonic()
    with pytest.raises(SourceError, match="loader of range 2 failed: the source went away"):
        parallel.run([0, 1], _boom)
    assert time.monotonic() - started < 20


def _crash(index: int) -> None:
    if index == 0:
        os._exit(7)  # dies without a word


def test_a_loader_that_dies_is_reported_with_its_exit_status():
    with pytest.raises(parallel.WorkerFailed, match="loader of range 1 failed: exit status 7"):
        parallel.run([0, 1], _crash)


def _fine(index: int) -> None:
    pass


def test_loaders_that_succeed_return_quietly():
    parallel.run([0, 1, 2], _fine)


def test_more_ranges_than_loaders_share_them_out_one_at_a_time():
    assert parallel.range_count(2, 100_000) == 2 * parallel.RANGES_PER_LOADER
    assert parallel.range_count(2, 30_000) == 3  # every range keeps MIN_ROWS_PER_RANGE rows
    assert parallel.range_count(2, 500) == 2  # never fewer ranges than loaders


def _note_loader(log: str, fail: int | None = None) -> tuple:
    def before() -> None:
        with open(log, "a") as f:
            f.write(f"before {os.getpid()}\n")

    def load(index: int) -> None:
        if index == fail:
            raise SourceError(f"range {index} is bad")
        time.sleep(0.05)
        with open(log, "a") as f:
            f.write(f"load {os.getpid()} {index}\n")

    return before, load


def test_each_range_is_loaded_once_by_at_most_the_loaders_asked_for(tmp_path):
    log = str(tmp_path / "log")
    before, load = _note_loader(log)
    parallel.run(list(range(7)), load, loaders=2, before=before)
    lines = [line.split() for line in Path(log).read_text().splitlines()]
    loads = [(int(pid), int(index)) for kind, pid, *rest in lines if kind == "load" for index in rest]
    befores = [int(pid) for kind, pid, *_ in lines if kind == "before"]
    assert sorted(index for _, index in loads) == list(range(7))  # every range once
    pids = {pid for pid, _ in loads}
    assert len(pids) == 2 and sorted(befores) == sorted(pids)  # two processes, each prepared once
    assert os.getpid() not in pids


def test_a_range_failing_in_a_loader_that_had_loaded_others_is_named():
    before, load = _note_loader(os.devnull, fail=4)
    with pytest.raises(SourceError, match="loader of range 5 failed: range 4 is bad"):
        parallel.run(list(range(6)), load, loaders=2, before=before)
