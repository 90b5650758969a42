"""Import runs and the issues they report."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ImportRun(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        PARTIAL = "partial", "succeeded with rejected rows"
        FAILED = "failed"

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    source = models.TextField(help_text="Path of the imported file or folder.")
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

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"import #{self.pk} {self.mapping_name} ({self.status})"


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
