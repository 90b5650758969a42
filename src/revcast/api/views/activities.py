"""Activities."""

from __future__ import annotations

import django_filters as df
from drf_spectacular.utils import extend_schema_view
from rest_framework.permissions import IsAuthenticated

from revcast.activities import services as activity_services
from revcast.activities.models import Activity
from revcast.api import permissions
from revcast.api.serializers.activities import ActivitySerializer
from revcast.api.views.base import IdFilter, SalesRecordViewSet, UtcDateTimeFilter, crud_summaries
from revcast.pipeline.filters import MultiValueCharFilter


class ActivityFilter(df.FilterSet):
    opportunity = IdFilter(field_name="opportunity_id", help_text="Id of the opportunity.")
    account = IdFilter(field_name="account_id", help_text="Id of the account.")
    contact = IdFilter(field_name="contact_id", help_text="Id of the contact.")
    type = df.MultipleChoiceFilter(choices=Activity.Type.choices)
    owner = MultiValueCharFilter(field_name="owner__username", lookup_expr="in", help_text="Owner username(s).")
    occurred_from = UtcDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_to = UtcDateTimeFilter(field_name="occurred_at", lookup_expr="lte")

    class Meta:
        model = Activity
        fields: list[str] = []


@extend_schema_view(
    **crud_summaries(
        "an activity",
        "activities",
        delete="its owner, the owner's managers, admins",
        example={"type": "call", "opportunity": 1, "subject": "Follow-up call",
                 "occurred_at": "2017-05-02T09:30:00+08:00"},
    )
)
class ActivityViewSet(SalesRecordViewSet):
    """Activities you (or your team) own. Deleting one: its owner, the owner's managers, admins."""

    queryset = Activity.objects.all()
    serializer_class = ActivitySerializer
    permission_classes = [IsAuthenticated, permissions.SalesRecordPermission]
    visibility_scope = "activities"
    related = ("owner",)
    filterset_class = ActivityFilter
    search_fields = ["subject", "note"]
    ordering_fields = ["occurred_at", "id"]
    ordering = ["-occurred_at", "-id"]
    may_delete = staticmethod(permissions.may_delete_owned)

    def perform_create(self, serializer: ActivitySerializer) -> None:
        values = dict(serializer.validated_data)
        values.setdefault("owner", self.request.user)
        serializer.instance = activity_services.log_activity(**values)

    def perform_update(self, serializer: ActivitySerializer) -> None:
        serializer.instance = activity_services.update_activity(serializer.instance, **serializer.validated_data)
