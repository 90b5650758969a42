"""Forecast runs, model versions and backtests in the admin: read only (``forecasting.services`` writes them)."""

from typing import Any

from django.contrib import admin

from revcast.forecasting.models import BacktestRun, ForecastRun, WinModelVersion


class ReadOnlyAdmin(admin.ModelAdmin):
    """Snapshots are records of what was forecast: nobody edits them by hand (deleting old ones is allowed)."""

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(WinModelVersion)
class WinModelVersionAdmin(ReadOnlyAdmin):
    list_display = ("id", "created_at", "kind", "cutoff", "seed", "is_active", "verdict")
    list_filter = ("kind", "is_active")
    exclude = ("payload",)  # the LightGBM model text: large and unreadable


@admin.register(ForecastRun)
class ForecastRunAdmin(ReadOnlyAdmin):
    list_display = ("id", "created_at", "period", "as_of", "model", "deal_count", "source", "created_by")
    list_filter = ("period_kind", "source")
    search_fields = ("period",)
    exclude = ("new_business",)


@admin.register(BacktestRun)
class BacktestRunAdmin(ReadOnlyAdmin):
    list_display = ("id", "created_at", "period_kind", "at", "start", "end", "seed", "source")
    list_filter = ("period_kind", "at")
