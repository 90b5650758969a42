from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from revcast.org.models import Region, Team, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "first_name", "last_name", "role", "manager", "team", "region", "is_active")
    list_filter = ("role", "region", "team", "is_active")
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        ("revcast", {"fields": ("role", "manager", "team", "region", "visibility_scope", "external_id")}),
    )
    autocomplete_fields = ("manager",)


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "lead", "parent", "region")


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "name_zh", "parent")
