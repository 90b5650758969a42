from django.contrib import admin

from revcast.core.models import CustomField, Picklist, PicklistValue


class PicklistValueInline(admin.TabularInline):
    model = PicklistValue
    extra = 1


@admin.register(Picklist)
class PicklistAdmin(admin.ModelAdmin):
    list_display = ("key", "label_en", "label_zh")
    inlines = [PicklistValueInline]


@admin.register(CustomField)
class CustomFieldAdmin(admin.ModelAdmin):
    list_display = ("object", "key", "label_en", "label_zh", "type", "picklist", "required", "active")
    list_filter = ("object", "type", "active")
