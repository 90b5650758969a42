from django.contrib import admin

from revcast.activities.models import Activity


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    list_display = ("type", "occurred_at", "owner", "account", "opportunity", "subject")
    list_filter = ("type",)
