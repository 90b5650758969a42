from django.contrib import admin

from revcast.pipeline.models import Opportunity, OpportunityFieldHistory, Product, Stage


@admin.register(Stage)
class StageAdmin(admin.ModelAdmin):
    list_display = ("name", "label_zh", "order", "type", "probability", "forecast_category", "active")


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("name", "series", "list_price", "currency", "active")


class HistoryInline(admin.TabularInline):
    model = OpportunityFieldHistory
    extra = 0
    can_delete = False
    readonly_fields = ("field", "old_value", "new_value", "changed_at", "changed_by", "source")

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Opportunity)
class OpportunityAdmin(admin.ModelAdmin):
    """Read-only here: opportunity changes go through pipeline.services so that history is written."""

    list_display = ("external_id", "owner", "account", "product", "stage", "amount", "closed_on")
    list_filter = ("stage", "forecast_category")
    search_fields = ("external_id", "name", "account__name")
    inlines = [HistoryInline]

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        return False
