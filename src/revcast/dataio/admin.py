from django.contrib import admin

from revcast.dataio.models import ImportIssue, ImportRun


class IssueInline(admin.TabularInline):
    model = ImportIssue
    extra = 0
    can_delete = False
    readonly_fields = ("severity", "object", "file", "row", "field", "value", "reason")


@admin.register(ImportRun)
class ImportRunAdmin(admin.ModelAdmin):
    list_display = ("id", "mapping_name", "status", "dry_run", "started_at", "duration_ms")
    readonly_fields = [f.name for f in ImportRun._meta.fields]
    inlines = [IssueInline]
