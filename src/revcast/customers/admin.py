from django.contrib import admin

from revcast.customers.models import Account, Contact


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ("name", "industry", "country", "employees", "annual_revenue", "parent")
    list_filter = ("industry", "country")
    search_fields = ("name", "external_id")


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ("last_name", "first_name", "account", "email", "phone")
    search_fields = ("last_name", "first_name", "email")
