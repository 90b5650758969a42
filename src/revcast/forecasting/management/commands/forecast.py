"""revcast forecast train | run | backtest | nightly | snapshot | close: the forecasting engine from the command line.

    revcast forecast train [--cutoff DATE] [--seed N] [--format table|json]
    revcast forecast run [--period 2017-Q4|2017-11|FY2017|month|quarter|year] [--as-of DATE]
                         [--by owner|team|region|product] [--as USER] [--seed N] [--draws N] [--top N] [--format table|json]
    revcast forecast backtest --period month|quarter [--at start|mid] [--from DATE] [--to DATE] [--seed N]
                              [--format table|json]
    revcast forecast nightly [--enqueue]
    revcast forecast snapshot [--period PERIOD ...] [--at TIME]
    revcast forecast close --period PERIOD [--force] [--format table|json]

Every command stores what it made (a model version, a forecast run, a backtest) and prints it. Without ``--as``
a forecast is shown company-wide (the system); with it, as the share that user may see.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.console import Console
from rich.table import Table

from revcast.forecasting import selectors, services
from revcast.forecasting.models import ForecastRun, WinModelVersion
from revcast.forecasting.selectors import SLICES, ForecastError


def money(value: Any) -> str:
    return "" if value is None else f"{float(value):,.0f}"


def pct(value: Any, digits: int = 1) -> str:
    return "" if value is None else f"{100 * float(value):.{digits}f}%"


def num(value: Any, digits: int = 3) -> str:
    return "" if value is None else f"{float(value):.{digits}f}"


class Command(BaseCommand):
    help = "Train the win model, run and store forecasts and backtests, queue the nightly job."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{train,run,backtest,nightly,snapshot,close}")

        train = sub.add_parser("train", help="Train the win model, store it as the active one, print its card.")
        train.add_argument("--cutoff", metavar="DATE", help="Learn only from what was known before (default: now).")
        train.add_argument("--seed", type=int, default=0)
        train.add_argument("--format", choices=["table", "json"], default="table")

        run = sub.add_parser("run", help="Forecast a period, store the snapshot, print totals and top deals.")
        run.add_argument("--period", metavar="PERIOD",
                         help="2017-Q4, 2017-11, FY2017 (fiscal quarters and years), or month / quarter / year: "
                         "the one containing --as-of (default quarter).")
        run.add_argument("--as-of", dest="as_of", metavar="DATE", help="Forecast with what was known then "
                         "(default: now).")
        run.add_argument("--by", choices=SLICES, help="Also break the forecast down by this dimension.")
        run.add_argument("--as", dest="as_user", metavar="USERNAME",
                         help="Show the share of the forecast this user may see.")
        run.add_argument("--seed", type=int, default=0)
        run.add_argument("--draws", type=int, default=2000, help="Simulation draws (default 2000).")
        run.add_argument("--top", type=int, default=10, help="How many of the top deals to show.")
        run.add_argument("--format", choices=["table", "json"], default="table")

        back = sub.add_parser("backtest", help="Forecast past periods and compare with what was won.")
        back.add_argument("--period", choices=["month", "quarter"], required=True)
        back.add_argument("--at", choices=["start", "mid"], default="start",
                          help="Forecast at each period's start or middle.")
        back.add_argument("--from", dest="date_from", metavar="DATE", help="First period (default: the data's).")
        back.add_argument("--to", dest="date_to", metavar="DATE", help="Last period (default: the data's).")
        back.add_argument("--seed", type=int, default=0)
        back.add_argument("--format", choices=["table", "json"], default="table")

        nightly = sub.add_parser("nightly", help="Retrain and forecast the current month and quarter.")
        nightly.add_argument("--enqueue", action="store_true",
                             help="Queue the job for `revcast db_worker` instead of running it here.")
        nightly.add_argument("--seed", type=int, default=0)

        snap = sub.add_parser("snapshot", help="Freeze this week's forecast calls (reps, managers, AI) of periods.")
        snap.add_argument("--period", action="append", metavar="PERIOD",
                          help="2017-Q4, 2017-11, FY2017; repeat for several (default: the current month and quarter).")
        snap.add_argument("--at", metavar="TIME", help="The moment the snapshot stands for (default: now).")

        close = sub.add_parser("close", help="Close a period: measure every snapshot's call against what was won.")
        close.add_argument("--period", required=True, metavar="PERIOD")
        close.add_argument("--force", action="store_true", help="Close before the period ends (accuracy so far).")
        close.add_argument("--format", choices=["table", "json"], default="table")

    def handle(self, *args: Any, **options: Any) -> None:
        from revcast.forecasting.collab.rollup import RollupError
        from revcast.forecasting.collab.snapshots import PeriodNotOver

        self.console = Console(file=self.stdout, width=160)
        try:
            getattr(self, f"do_{options['action']}")(options)
        except (ForecastError, RollupError, PeriodNotOver) as exc:
            raise CommandError(str(exc)) from exc

    def emit_json(self, data: Any) -> None:
        self.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str))

    # ---------------------------------------------------------------- train

    def do_train(self, options: dict[str, Any]) -> None:
        version = services.train_model(cutoff=options["cutoff"], seed=options["seed"], source="cli")
        if options["format"] == "json":
            self.emit_json({"version": version.pk, "active": version.is_active, "card": version.card})
            return
        print_card(self.console, version)

    # ---------------------------------------------------------------- run

    def do_run(self, options: dict[str, Any]) -> None:
        user = None
        if options["as_user"]:
            from revcast.org.models import User

            user = User.objects.filter(username=options["as_user"]).first()
            if user is None:
                raise CommandError(f"--as {options['as_user']!r}: no such user")
        run = services.run_forecast(period=options["period"], as_of=options["as_of"], seed=options["seed"],
                                    draws=options["draws"], source="cli")
        view = selectors.scope_forecast(run, user, by=options["by"])
        top = selectors.top_deals(run, user, limit=max(options["top"], 0))
        if options["format"] == "json":
            self.emit_json({"run": run_info(run), "forecast": view, "top_deals": [deal_info(d) for d in top]})
            return
        print_forecast(self.console, run, view, top, user)

    # ---------------------------------------------------------------- backtest

    def do_backtest(self, options: dict[str, Any]) -> None:
        bt = services.run_backtest(options["period"], options["at"], options["date_from"], options["date_to"],
                                   seed=options["seed"], source="cli")
        if options["format"] == "json":
            self.emit_json({**bt.result, "backtest": bt.pk})
            return
        print_backtest(self.console, bt.result, title=f"Backtest #{bt.pk}: {bt.period_kind}ly forecasts made at "
                       f"the {bt.at} of each period")

    # ---------------------------------------------------------------- nightly

    def do_nightly(self, options: dict[str, Any]) -> None:
        if options["enqueue"]:
            from revcast.forecasting.tasks import nightly_forecast

            result = nightly_forecast.enqueue(seed=options["seed"])
            self.stdout.write(f"queued the nightly forecast as task {result.id}; "
                              f"`revcast db_worker --queue-name {nightly_forecast.queue_name}` runs it")
            return
        done = services.nightly(seed=options["seed"], source="nightly")
        runs = ", ".join(f"{period} (run #{pk})" for period, pk in done["runs"].items())
        self.stdout.write(f"model #{done['model']}: {done['verdict']}\nforecasts: {runs}")


    # ---------------------------------------------------------------- snapshot and close

    def do_snapshot(self, options: dict[str, Any]) -> None:
        from revcast.core import fiscal
        from revcast.forecasting.collab.snapshots import take_snapshot

        at = services.parse_time(options["at"]).to_pydatetime() if options["at"] else None
        periods = options["period"] or [fiscal.period_of(at or services.parse_time(None), kind).label
                                         for kind in ("month", "quarter")]
        for period in periods:
            rows = take_snapshot(period, at=at)
            self.stdout.write(f"{period}: snapshot of {rows} forecast calls (people, teams and the company)")

    def do_close(self, options: dict[str, Any]) -> None:
        from revcast.forecasting.collab import accuracy
        from revcast.forecasting.collab.snapshots import close_period

        close = close_period(options["period"], force=options["force"])
        summary = accuracy.summary(None, close)
        if options["format"] == "json":
            self.emit_json({"period": close.period, "closed_at": close.closed_at.isoformat(), "summary": summary})
            return
        if not summary:
            self.stdout.write(f"{close.period} closed; it had no snapshots (`revcast forecast snapshot` takes them "
                              "weekly while a period runs), so there is no accuracy to show")
            return
        table = Table(title=f"{close.period}: error |forecast − actual| / actual of the company's call, by week")
        for col in ("source", "week", "week of", "forecast", "actual", "error", "bias", "reps: mean error",
                    "teams: mean error"):
            table.add_column(col, justify="left" if col == "source" else "right")
        for r in summary:
            table.add_row(r["source"], str(r["week_index"]), r["week"].isoformat(), money(r["forecast"]),
                          money(r["actual"]), pct(r["error"]), pct(r["bias"]), pct(r["people_mean_error"]),
                          pct(r["teams_mean_error"]))
        self.console.print(table)


# ---------------------------------------------------------------- output


def run_info(run: ForecastRun) -> dict[str, Any]:
    return {
        "id": run.pk,
        "period": run.period,
        "period_start": run.period_start.isoformat(),
        "period_end": run.period_end.isoformat(),
        "as_of": run.as_of.isoformat(),
        "created_at": run.created_at.isoformat(),
        "model": run.model_id,
        "seed": run.seed,
        "draws": run.draws,
        "deals": run.deal_count,
        "source": run.source,
        "notes": run.totals.get("notes", []),
    }


def deal_info(d: Any) -> dict[str, Any]:
    return {
        "opportunity": d.opportunity_id,
        "name": d.opportunity.name,
        "owner": d.owner_username,
        "stage": d.stage,
        "amount": float(d.amount),
        "p_win": d.p_win,
        "p_timing": d.p_timing,
        "p": d.p,
        "expected": float(d.expected),
        "factors": d.factors,
    }


FIGURES = [("expected", "expected"), ("p10", "P10"), ("p50", "P50"), ("p90", "P90"), ("closed", "closed"),
           ("open_expected", "open (expected)"), ("new_expected", "new (expected)")]


def print_card(console: Console, version: WinModelVersion) -> None:
    """The model card: what it learnt from, how the data was split, how good it is, and the verdict."""
    card = version.card
    state = "active" if version.is_active else "inactive"
    console.print(f"Win model #{version.pk} ({state}): {card.get('kind', version.kind)}, cutoff "
                  f"{version.cutoff:%Y-%m-%d %H:%M} UTC, seed {version.seed}")
    data = card.get("data") or {}
    console.print(f"closed deals before the cutoff: {data.get('closed_deals', 0):,} "
                  f"({data.get('won', 0):,} won, {data.get('lost', 0):,} lost)")
    splits = [name for name in ("train", "validation", "holdout") if isinstance(data.get(name), dict)]
    if splits:
        split = card.get("split") or {}
        since = {"train": split.get("train_from"), "validation": split.get("validation_from"),
                 "holdout": split.get("holdout_from")}
        table = Table(title="Time-based split (by close date)", title_justify="left")
        for name, right in (("split", False), ("closed from", False), ("deals", True), ("rows", True),
                            ("won", True), ("lost", True)):
            table.add_column(name, justify="right" if right else "left")
        for name in splits:
            row = data[name]
            table.add_row(name, str(since.get(name) or "")[:10], f"{row['deals']:,}", f"{row['rows']:,}",
                          f"{row['won']:,}", f"{row['lost']:,}")
        console.print(table)
    quality = Table(title="Quality on the hold-out (deals it did not learn from)", title_justify="left")
    for name in ("model", "AUC", "Brier", "base-rate Brier", "log loss", "ECE", "calibration"):
        quality.add_column(name, justify="left" if name == "model" else "right")
    if card.get("brier") is not None:  # LightGBM was trained (it may have lost to the fallback)
        served = "served" if card.get("kind") == "lightgbm" else "not served"
        quality.add_row(f"LightGBM ({served})", num(card.get("auc")), num(card.get("brier"), 4),
                        num(card.get("base_rate_brier"), 4), num(card.get("log_loss"), 4), num(card.get("ece"), 4),
                        str((card.get("calibration") or {}).get("method", "")))
    fallback = card.get("served_holdout") if card.get("kind") != "lightgbm" else None
    if fallback:
        quality.add_row(f"{card.get('kind')} (served)", num(fallback.get("auc")), num(fallback.get("brier"), 4),
                        num(fallback.get("base_rate_brier"), 4), num(fallback.get("log_loss"), 4),
                        num(fallback.get("ece"), 4), "")
    if quality.row_count:
        console.print(quality)
    bins = (card.get("served_holdout") or {}).get("calibration_table") or card.get("calibration_table") or []
    if bins:
        table = Table(title="Calibration of the served model (hold-out, 10 bins)", title_justify="left")
        for name in ("predicted", "rows", "mean predicted", "observed"):
            table.add_column(name, justify="right")
        for b in bins:
            table.add_row(str(b.get("bin", "")), f"{b.get('n', 0):,}", pct(b.get("mean_predicted")),
                          pct(b.get("observed")))
        console.print(table)
    importance = card.get("feature_importance") or []
    if importance:
        console.print("most important: " + ", ".join(
            f"{f['feature']} {f['gain_share']:.1%}" for f in importance[:8] if f.get("gain_share")))
    console.print(f"verdict: {card.get('verdict', '')}")


def print_forecast(console: Console, run: ForecastRun, view: dict[str, Any], top: list[Any], user: Any) -> None:
    who = "company-wide" if user is None else f"as {user.username} ({view['scope']})"
    console.print(f"Forecast {run.period} ({run.period_start} to {run.period_end}, end exclusive) as of "
                  f"{run.as_of:%Y-%m-%d %H:%M} UTC: run #{run.pk}, model #{run.model_id}, {run.draws} draws, "
                  f"{who}, {view['deals']} open deals")
    totals = Table(title="Totals", title_justify="left")
    for _, label in FIGURES:
        totals.add_column(label, justify="right")
    totals.add_row(*(money(view["total"][key]) for key, _ in FIGURES))
    console.print(totals)
    if view["groups"]:
        table = Table(title=f"By {view['by']}", title_justify="left")
        table.add_column(view["by"])
        for _, label in FIGURES:
            table.add_column(label, justify="right")
        for g in view["groups"]:
            table.add_row(str(g["key"]), *(money(g[key]) for key, _ in FIGURES))
        console.print(table)
    for note in run.totals.get("notes", []):
        console.print(f"note: {note}")
    if top:
        table = Table(title="Top deals by expected value", title_justify="left")
        for name, right in (("deal", False), ("owner", False), ("stage", False), ("amount", True),
                            ("P(win)", True), ("P(in period)", True), ("P", True), ("expected", True),
                            ("main factor", False)):
            table.add_column(name, justify="right" if right else "left")
        for d in top:
            factor = d.factors[0]["text"] if d.factors else ""
            table.add_row(f"#{d.opportunity_id} {d.opportunity.name}".strip(), d.owner_username, d.stage,
                          money(d.amount), pct(d.p_win), pct(d.p_timing), pct(d.p), money(d.expected), factor)
        console.print(table)


PERIOD_COLUMNS: list[tuple[str, str, Callable[[Any], str]]] = [("period", "period", str), ("as_of", "as of", lambda v: str(v)[:10]),
                  ("forecast", "forecast", money), ("p10", "P10", money), ("p50", "P50", money),
                  ("p90", "P90", money), ("actual", "actual", money), ("error_pct", "error", pct),
                  ("inside", "in P10-P90", lambda v: "" if v is None else ("yes" if v else "no")),
                  ("weighted_pipeline", "weighted pipeline", money), ("seasonal_naive", "seasonal naive", money)]


def print_backtest(console: Console, result: dict[str, Any], *, title: str) -> None:
    table = Table(title=title, title_justify="left")
    for key, label, _ in PERIOD_COLUMNS:
        table.add_column(label, justify="left" if key in ("period", "as_of") else "right")
    for row in result.get("periods", []):
        table.add_row(*(fmt(row.get(key)) for key, _, fmt in PERIOD_COLUMNS))
    console.print(table)
    summary = Table(title="Summary (MAPE: mean absolute error / actual; bias: mean signed error / actual)",
                    title_justify="left")
    for name in ("method", "MAPE", "bias", "P10-P90 coverage"):
        summary.add_column(name, justify="left" if name == "method" else "right")
    for method in ("revcast", "weighted_pipeline", "seasonal_naive"):
        figures = result.get("summary", {}).get(method) or {}
        summary.add_row(method, pct(figures.get("mape")), pct(figures.get("bias")),
                        pct(figures["coverage"], 0) if figures.get("coverage") is not None else "")
    console.print(summary)
