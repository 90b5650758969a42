"""revcast dedup OBJECT [--threshold T] [--format table|json] [--merge CLUSTER_ID ... | --merge-all]
[--survivor ID|most_complete|most_recent|oldest] [--rule FIELD=STRATEGY ...] [--undo CHANGESET] [--as USERNAME]"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.console import Console
from rich.table import Table

from revcast.dataio.dedup import services
from revcast.dataio.dedup.engine import DedupResult
from revcast.dataio.dedup.specs import spec_for
from revcast.dataio.dedup.survivorship import STRATEGIES
from revcast.dataio.journal import UndoConflict
from revcast.dataio.models import ChangeSet

SURVIVOR_RULES = ("most_complete", "most_recent", "oldest")


def cluster_json(result: DedupResult, indexed: Any, cluster_id: int, members: list[int]) -> dict[str, Any]:
    """One cluster for JSON; ``indexed`` is ``result.frame`` indexed by id (made once for all clusters)."""
    rows = indexed.loc[members].reset_index()
    records = [{k: (None if _missing(v) else (v.item() if hasattr(v, "item") else v)) for k, v in row.items()}
               for row in rows.to_dict(orient="records")]
    pairs = result.cluster_pairs(cluster_id)
    return {"id": cluster_id, "size": len(members), "members": records,
            "score": max((p["probability"] for p in pairs), default=None), "pairs": pairs}


def _missing(value: Any) -> bool:
    try:
        return value is None or bool(value != value) or str(value) == "<NA>"
    except (TypeError, ValueError):
        return False


class Command(BaseCommand):
    help = "Find duplicate accounts, contacts or opportunities (probabilistic, unsupervised); merge clusters."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("object", help="accounts, contacts or opportunities (singular accepted).")
        parser.add_argument("--threshold", type=float, default=None,
                            help="Match probability at or above which two records are duplicates (0-1).")
        parser.add_argument("--format", choices=["table", "json"], default="table")
        parser.add_argument("--merge", type=int, nargs="+", metavar="CLUSTER_ID", default=[],
                            help="Merge these clusters (ids as listed).")
        parser.add_argument("--merge-all", action="store_true", help="Merge every cluster found.")
        parser.add_argument("--survivor", default="most_complete",
                            help="Record id to keep (with one --merge cluster) or most_complete, most_recent, oldest.")
        parser.add_argument("--rule", action="append", default=[], metavar="FIELD=STRATEGY",
                            help=f"Survivorship per field: {', '.join(STRATEGIES)}.")
        parser.add_argument("--undo", type=int, metavar="CHANGESET", help="Undo a merge change set.")
        parser.add_argument("--limit", type=int, default=50, help="Clusters shown in the table (json: all).")
        parser.add_argument("--as", dest="as_user", metavar="USERNAME",
                            help="Only the records this user may see.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            spec = spec_for(options["object"])
        except KeyError as exc:
            raise CommandError(f"{options['object']!r}: expected accounts, contacts or opportunities") from exc
        user = self._user(options["as_user"])
        if options["undo"] is not None:
            self._undo(options["undo"], user, options["format"])
            return
        threshold = options["threshold"]
        if threshold is not None and not 0.0 < threshold <= 1.0:
            raise CommandError("--threshold must be a probability in (0, 1]")
        rules = self._rules(options["rule"])
        result = services.find(spec.name, user=user, threshold=threshold)
        clusters = result.clusters()
        merged = []
        wanted = list(clusters) if options["merge_all"] else options["merge"]
        unknown = [c for c in wanted if c not in clusters]
        if unknown:
            raise CommandError(f"no cluster {', '.join(map(str, unknown))} at this threshold")
        for cid in wanted:
            survivor = self._survivor(options["survivor"], clusters[cid], len(wanted), spec.name)
            cs = services.merge(spec.name, clusters[cid], survivor=survivor, rules=rules, user=user)
            info = services.merge_info(cs)
            merged.append({"cluster": cid, "changeset": cs.pk, "survivor": info["survivor"], "merged": info["merged"]})
        if options["format"] == "json":
            indexed = result.frame.set_index("id")
            payload = {"object": spec.name, "threshold": result.threshold,
                       "stats": {k: v for k, v in result.stats.items()}, "model": result.model.as_dict(),
                       "clusters": [cluster_json(result, indexed, cid, members) for cid, members in clusters.items()],
                       "merged": merged}
            self.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2, default=str))
            return
        self._table(result, clusters, options["limit"])
        for m in merged:
            self.stdout.write(f"cluster {m['cluster']}: merged {', '.join(map(str, m['merged']))} into "
                              f"{m['survivor']} (change set #{m['changeset']}; undo: revcast dedup {spec.name} "
                              f"--undo {m['changeset']})")

    def _user(self, username: str | None) -> Any:
        if not username:
            return None
        from revcast.org.models import User

        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"--as {username!r}: no such user")
        return user

    def _rules(self, items: list[str]) -> dict[str, str]:
        rules = {}
        for item in items:
            name, _, strategy = item.partition("=")
            if strategy not in STRATEGIES:
                raise CommandError(f"--rule {item!r}: strategy must be one of {', '.join(STRATEGIES)}")
            rules[name.strip()] = strategy
        return rules

    def _survivor(self, text: str, members: list[int], clusters: int, obj: str) -> int | None:
        if text.isdigit():
            if clusters != 1 or int(text) not in members:
                raise CommandError("--survivor ID needs exactly one --merge cluster that holds that record")
            return int(text)
        if text not in SURVIVOR_RULES:
            raise CommandError(f"--survivor: a record id or one of {', '.join(SURVIVOR_RULES)}")
        if text == "oldest":
            return min(members)
        if text == "most_recent":
            t = services.target(obj)
            latest = t.model.objects.filter(pk__in=members).order_by("-updated_at", "pk").first()
            return latest.pk if latest else None
        return None  # most complete: the service's default

    def _undo(self, pk: int, user: Any, fmt: str) -> None:
        cs = ChangeSet.objects.filter(pk=pk).first()
        if cs is None:
            raise CommandError(f"no change set #{pk}")
        try:
            undo = services.undo_merge(cs, user=user)
        except (UndoConflict, services.MergeError) as exc:
            raise CommandError(f"cannot undo change set #{pk}: {exc}") from exc
        if fmt == "json":
            self.stdout.write(json.dumps({"undone": pk, "changeset": undo.pk}))
        else:
            self.stdout.write(f"change set #{pk} undone (change set #{undo.pk})")

    def _table(self, result: DedupResult, clusters: dict[int, list[int]], limit: int) -> None:
        console = Console(file=self.stdout, width=160)
        stats = result.stats
        console.print(f"{stats['records']:,} {result.spec.name}, {stats['candidate_pairs']:,} pairs compared, "
                      f"{len(clusters):,} clusters at threshold {result.threshold} ({stats['total_s']:.1f} s)")
        if not clusters:
            return
        table = Table(show_lines=False)
        for col in ("cluster", "records", "score", *result.spec.columns):
            table.add_column(col)
        frame = result.frame.set_index("id")
        for cid, members in list(clusters.items())[:limit]:
            best = result.cluster_score(cid)
            score = "" if best is None else f"{best:.3f}"
            for i, rid in enumerate(members):
                row = frame.loc[rid]
                table.add_row(str(cid) if i == 0 else "", str(rid), score if i == 0 else "",
                              *("" if _missing(row.get(c)) else str(row.get(c)) for c in result.spec.columns))
        console.print(table)
        if len(clusters) > limit:
            console.print(f"... {len(clusters) - limit} more clusters (--limit, or --format json)")
