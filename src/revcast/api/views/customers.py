"""Accounts and contacts."""

from __future__ import annotations

from typing import Any

import django_filters as df
from drf_spectacular.utils import extend_schema_view
from rest_framework.permissions import IsAuthenticated

from revcast.api import permissions
from revcast.api.serializers.customers import AccountSerializer, ContactSerializer
from revcast.api.views.base import IdFilter, SalesRecordViewSet, crud_summaries
from revcast.customers import services as customer_services
from revcast.customers.models import Account, Contact
from revcast.pipeline.filters import MultiValueCharFilter


class AccountFilter(df.FilterSet):
    name = df.CharFilter(field_name="name", lookup_expr="icontains", help_text="Part of the name.")
    industry = MultiValueCharFilter(field_name="industry", lookup_expr="in", help_text="Industry code(s).")
    country = MultiValueCharFilter(field_name="country", lookup_expr="in", help_text="Country (or several).")
    owner = MultiValueCharFilter(field_name="owner__username", lookup_expr="in", help_text="Owner username(s).")
    parent = IdFilter(field_name="parent_id", help_text="Id of the parent account.")

    class Meta:
        model = Account
        fields: list[str] = []


class ContactFilter(df.FilterSet):
    account = IdFilter(field_name="account_id", help_text="Id of the account.")
    owner = MultiValueCharFilter(field_name="owner__username", lookup_expr="in", help_text="Owner username(s).")
    email = df.CharFilter(field_name="email", lookup_expr="iexact")

    class Meta:
        model = Contact
        fields: list[str] = []


def _owned(serializer: Any, user: Any) -> dict[str, Any]:
    values = dict(serializer.validated_data)
    if serializer.instance is None and "owner" not in values:
        values["owner"] = user  # a new record is its creator's unless given to someone else
    return values


@extend_schema_view(
    **crud_summaries(
        "an account",
        "accounts",
        delete="admin or the owner's manager",
        example={"name": "Nanjing Widgets", "industry": "manufacturing", "country": "China",
                 "annual_revenue": "1200000.00", "revenue_currency": "CNY", "employees": 80},
    )
)
class AccountViewSet(SalesRecordViewSet):
    """Accounts you own (or your team owns) or that carry an opportunity you may see."""

    queryset = Account.objects.all()
    serializer_class = AccountSerializer
    permission_classes = [IsAuthenticated, permissions.SalesRecordPermission]
    visibility_scope = "accounts"
    related = ("owner", "parent")
    filterset_class = AccountFilter
    search_fields = ["name", "country", "location"]
    ordering_fields = ["name", "annual_revenue", "employees", "year_established", "id"]
    ordering = ["name", "id"]
    may_delete = staticmethod(permissions.may_delete_customer)

    def perform_create(self, serializer: AccountSerializer) -> None:
        serializer.instance = customer_services.save_account(Account(), **_owned(serializer, self.request.user))

    def perform_update(self, serializer: AccountSerializer) -> None:
        serializer.instance = customer_services.save_account(serializer.instance, **serializer.validated_data)


@extend_schema_view(
    **crud_summaries(
        "a contact",
        "contacts",
        delete="admin or the owner's manager",
        example={"first_name": "Li", "last_name": "Wei", "email": "li.wei@example.com", "account": 1},
    )
)
class ContactViewSet(SalesRecordViewSet):
    """Contacts you own (or your team owns) or of an account you may see."""

    queryset = Contact.objects.all()
    serializer_class = ContactSerializer
    permission_classes = [IsAuthenticated, permissions.SalesRecordPermission]
    visibility_scope = "contacts"
    related = ("owner", "account")
    filterset_class = ContactFilter
    search_fields = ["first_name", "last_name", "email", "title", "account__name"]
    ordering_fields = ["last_name", "first_name", "id"]
    ordering = ["last_name", "first_name", "id"]
    may_delete = staticmethod(permissions.may_delete_customer)

    def perform_create(self, serializer: ContactSerializer) -> None:
        serializer.instance = customer_services.save_contact(Contact(), **_owned(serializer, self.request.user))

    def perform_update(self, serializer: ContactSerializer) -> None:
        serializer.instance = customer_services.save_contact(serializer.instance, **serializer.validated_data)
