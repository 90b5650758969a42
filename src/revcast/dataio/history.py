"""Import and migration history, rollback of one run, and undo of any journaled change set."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from revcast.dataio import bulkload
from revcast.dataio.journal import UndoConflict, undo_changeset
from revcast.dataio.models import ChangeSet, ImportRun


class RollbackError(Exception):
    pass


def runs() -> QuerySet[ImportRun]:
    return ImportRun.objects.select_related("started_by").prefetch_related("changesets__undone_by")


def changesets(kind: str | None = None) -> QuerySet[ChangeSet]:
    qs = ChangeSet.objects.select_related("user", "run", "undo_of").prefetch_related("undone_by")
    return qs.filter(kind=kind) if kind else qs


def run_changeset(run: ImportRun) -> ChangeSet:
    """The change set that journals what ``run`` wrote (there is one per import or migration run)."""
    cs = run.changesets.filter(kind__in=[ChangeSet.Kind.IMPORT, ChangeSet.Kind.MIGRATION]).first()
    if cs is None:
        raise RollbackError(
            f"run #{run.pk} has no change journal (a dry run, or a run from before revcast journaled imports)"
        )
    return cs


def rollback_run(run: ImportRun, user: Any = None, *, force: bool = False) -> ChangeSet:
    """Undo exactly what one run created and changed; refused (``UndoConflict``) when later work depends on it."""
    if run.dry_run:
        raise RollbackError(f"run #{run.pk} was a dry run: it wrote nothing")
    cs = run_changeset(run)
    bulkload.restore_pending()  # a killed bulk load's indexes and keys, before its rows are taken out
    return undo_changeset(
        cs, user, kind=ChangeSet.Kind.ROLLBACK, force=force,
        summary=f"rollback of {run.kind} run #{run.pk} ({run.source})",
    )


def undo(changeset: ChangeSet, user: Any = None, *, force: bool = False) -> ChangeSet:
    return undo_changeset(changeset, user, force=force)


def state(cs: ChangeSet) -> str:
    """'undone by #N', or 'active'."""
    done = list(cs.undone_by.all())
    return f"undone by #{done[0].pk}" if done else "active"


def counts_lines(cs: ChangeSet) -> list[str]:
    """One line per model of what a change set did, for people."""
    return [
        f"  {label}: created {c['created']}, restored {c['updated']}, deleted {c['deleted']}"
        for label, c in cs.counts.items()
    ]


def changeset_dict(cs: ChangeSet) -> dict[str, Any]:
    return {
        "id": cs.pk,
        "kind": cs.kind,
        "summary": cs.summary,
        "created_at": cs.created_at.isoformat(),
        "user": cs.user.username if cs.user else None,
        "run": cs.run_id,
        "undo_of": cs.undo_of_id,
        "state": state(cs),
        "counts": cs.counts,
    }


def run_dict(run: ImportRun) -> dict[str, Any]:
    journal = [c for c in run.changesets.all() if c.kind in (ChangeSet.Kind.IMPORT, ChangeSet.Kind.MIGRATION)]
    rolled = [c for c in run.changesets.all() if c.kind == ChangeSet.Kind.ROLLBACK and not c.undone_by.all()]
    return {
        "id": run.pk,
        "kind": run.kind,
        "status": run.status,
        "dry_run": run.dry_run,
        "source": run.source,
        "mapping": run.mapping_name,
        "started_at": run.started_at.isoformat(),
        "duration_ms": run.duration_ms,
        "counts": run.counts,
        "changeset": journal[0].pk if journal else None,
        "rolled_back_by": rolled[0].pk if rolled else None,
    }


__all__ = ["RollbackError", "UndoConflict", "changesets", "rollback_run", "run_changeset", "runs", "undo"]
