"""Import runs and the issues they report."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class ImportRun(models.Model):
    class Kind(models.TextChoices):
        IMPORT = "import"
        MIGRATION = "migration"

    class Status(models.TextChoices):
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        PARTIAL = "partial", "succeeded with rejected rows"
        FAILED = "failed"

    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.IMPORT)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    source = models.TextField(help_text="Imported file or folder, or the source database URL without its password.")
    mapping_name = models.CharField(max_length=200)
    mapping_sha256 = models.CharField(max_length=64)
    dry_run = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    # {object: {"read", "created", "updated", "unchanged", "rejected"}}
    counts = models.JSONField(default=dict)
    # Openly reported decisions of the mapping: derived values, value maps applied, encodings detected.
    notes = models.JSONField(default=list)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    # Where a batched run got to, so an interrupted migration can resume: {"sources": {source name: {"last_key":
    # {"type", "value"}, "rows": rows done, "done": bool}}, "notes": {note: rows}, "pid", "host"}. Saved in the
    # same transaction as each batch.
    checkpoint = models.JSONField(default=dict, blank=True)
    # The mapping file a migration ran with (to reconcile or resume it later).
    mapping_path = models.TextField(blank=True)
    # A migration's reconciliation of source and target (dataio.reconcile), written after the run.
    reconciliation = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} {self.mapping_name} ({self.status})"


class ImportIssue(models.Model):
    run = models.ForeignKey(ImportRun, on_delete=models.CASCADE, related_name="issues")
    object = models.CharField(max_length=64)
    file = models.CharField(max_length=500)
    row = models.PositiveIntegerField(null=True, blank=True, help_text="Line in the file (header is line 1).")
    field = models.CharField(max_length=120, blank=True)
    value = models.TextField(blank=True)
    reason = models.TextField()
    severity = models.CharField(
        max_length=8, default="error", choices=[("error", "error"), ("warning", "warning")]
    )

    class Meta:
        ordering = ["run", "id"]

    def __str__(self) -> str:
        return f"{self.file}:{self.row} {self.field}={self.value!r}: {self.reason}"


class JournalEncoder(DjangoJSONEncoder):
    """DjangoJSONEncoder, but times keep their microseconds: an undo must restore values exactly."""

    def default(self, o: Any) -> Any:
        if isinstance(o, dt.datetime | dt.time):
            return o.isoformat()
        return super().default(o)


class ChangeSet(models.Model):
    """One audited unit of change to user data: an import or migration run, a standardisation, a merge, a
    rollback or an undo. Its records say exactly what was created, changed and deleted, so it can be undone."""

    class Kind(models.TextChoices):
        IMPORT = "import"
        MIGRATION = "migration"
        STANDARDISE = "standardise"
        MERGE = "merge"
        ROLLBACK = "rollback"
        UNDO = "undo"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    summary = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    run = models.ForeignKey(
        ImportRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="changesets"
    )
    undo_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="undone_by"
    )
    # {"<app.model>": {"created": n, "updated": n, "deleted": n}}
    counts = models.JSONField(default=dict)
    details = models.JSONField(
        default=dict, blank=True, help_text="What the change was about, for the code that reads it back "
        "(a merge: object, survivor and merged-away ids)."
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"change set #{self.pk} {self.kind}"


class ChangeRecord(models.Model):
    """A batch of one kind of change to one model, in the order it was made.

    ``rows`` holds, per action: ``create`` -> the new primary keys; ``update`` -> ``{"pk", "before", "after"}``
    with field attnames; ``delete`` -> full snapshots of the deleted rows (attname -> value).
    """

    class Action(models.TextChoices):
        CREATE = "create"
        UPDATE = "update"
        DELETE = "delete"

    changeset = models.ForeignKey(ChangeSet, on_delete=models.CASCADE, related_name="records")
    seq = models.PositiveIntegerField()
    model = models.CharField(max_length=100, help_text="app_label.model_name")
    action = models.CharField(max_length=8, choices=Action.choices)
    rows = models.JSONField(default=list, encoder=JournalEncoder)

    class Meta:
        ordering = ["changeset", "seq"]
        constraints = [models.UniqueConstraint(fields=["changeset", "seq"], name="uniq_change_record_seq")]

    def __str__(self) -> str:
        return f"{self.changeset_id}:{self.seq} {self.action} {self.model} ({len(self.rows)})"
