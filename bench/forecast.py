"""Training and forecasting time: on the Maven demo data, and on a synthetic scale-up.

Run ``.venv/bin/python bench/forecast.py`` (``--closed`` and ``--open`` change the scale-up; the defaults are
the issue's 1,000,000 historical and 100,000 open opportunities). It prints, per data set:

- load: building the engine's tables (for the demo, through the adapter from a fresh SQLite database in a
  temp dir, after importing the Maven data; for the scale-up, generating the synthetic history),
- train: the win model (features at sampled as-of times, LightGBM, calibration, model card),
- forecast: scoring every open deal (features, win model, timing) and simulating the period,
- factors: the top five factors of every open deal's win probability (LightGBM ``pred_contrib``), which
  ``revcast forecast run`` stores with each deal — shown beside the target, not inside it,

and the target: train + forecast under 60 s on 2 cores. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

TARGET_S = 60.0


def _demo_tables(tmp: Path):  # type: ignore[no-untyped-def]
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp / 'bench.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "revcast.settings")
    os.environ["REVCAST_DEBUG"] = "false"
    import django

    django.setup()
    from django.core.management import call_command

    from revcast.core.demo import load_demo
    from revcast.forecasting.adapter import load_tables

    call_command("migrate", verbosity=0)
    load_demo()
    return load_tables(None)


def measure(label: str, load, seed: int) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """``load()`` returns (tables, as_of, period): time it, then training and the forecast."""
    from revcast.forecasting.engine import winmodel
    from revcast.forecasting.engine.forecast import forecast_period

    started = time.perf_counter()
    tables, as_of, period = load()
    loaded = time.perf_counter() - started
    started = time.perf_counter()
    model = winmodel.train(tables, as_of, seed=seed)
    trained = time.perf_counter() - started
    started = time.perf_counter()
    fc = forecast_period(tables, as_of, period.start, period.end, win_model=model, seed=seed)
    forecasted = time.perf_counter() - started
    started = time.perf_counter()
    model.factors(fc.features, top=5)  # what `revcast forecast run` also stores: each deal's factors
    explained = time.perf_counter() - started
    return {
        "label": f"{label} ({period.label})", "history_rows": len(tables.history), "open": len(fc.deals),
        "kind": model.kind, "load_s": loaded, "train_s": trained, "forecast_s": forecasted, "factors_s": explained,
        "expected": fc.totals["expected"], "p10": fc.totals["p10"], "p90": fc.totals["p90"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--closed", type=int, default=1_000_000)
    parser.add_argument("--open", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-demo", action="store_true")
    args = parser.parse_args()

    import pandas as pd

    from revcast.forecasting.engine import synthetic
    from revcast.forecasting.engine.periods import parse_period, period_of

    def demo():  # type: ignore[no-untyped-def]
        return _demo_tables(Path(tmp)), pd.Timestamp("2017-10-01", tz="UTC"), parse_period("2017-Q4")

    def scale_up():  # type: ignore[no-untyped-def]
        tables = synthetic.generate(args.closed, args.open, seed=args.seed)
        # the synthetic history ends at its newest change: forecast the quarter after it
        as_of = tables.history["changed_at"].max() + pd.Timedelta(seconds=1)
        return tables, as_of, period_of(as_of, "quarter").shift(1)

    rows = []
    with tempfile.TemporaryDirectory(prefix="revcast-bench-forecast-") as tmp:
        if not args.skip_demo:
            rows.append(measure("maven demo, as of 2017-10-01", demo, args.seed))
        rows.append(measure(f"synthetic {args.closed:,} closed + {args.open:,} open", scale_up, args.seed))

    print(f"{'data':<52} {'history rows':>13} {'open':>8} {'model':>11} {'load s':>7} {'train s':>8} "
          f"{'forecast s':>10} {'train+fc s':>10}  target < {TARGET_S:.0f} s  {'+ factors s':>11}")
    for r in rows:
        total = float(r["train_s"]) + float(r["forecast_s"])  # type: ignore[arg-type]
        print(f"{r['label']:<52} {r['history_rows']:>13,} {r['open']:>8,} {r['kind']:>11} {r['load_s']:>7.1f} "
              f"{r['train_s']:>8.1f} {r['forecast_s']:>10.1f} {total:>10.1f}  "
              f"{'met   ' if total < TARGET_S else 'MISSED'}        {r['factors_s']:>11.1f}")
        print(f"{'':<52} forecast {r['expected']:,.0f}  P10 {r['p10']:,.0f}  P90 {r['p90']:,.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
