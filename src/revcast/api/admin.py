from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from revcast.api import services
from revcast.api.models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are created with `revcast token create` (the only time the token is shown); here: see, revoke."""

    list_display = ("prefix", "user", "name", "created_at", "last_used_at", "expires_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("prefix", "name", "user__username")
    readonly_fields = ("user", "prefix", "key_hash", "created_at", "last_used_at", "expires_at", "revoked_at")
    fields = ("user", "name", "prefix", "key_hash", "created_at", "last_used_at", "expires_at", "revoked_at")
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description=_("Revoke the selected tokens"))
    def revoke(self, request: HttpRequest, queryset: QuerySet) -> None:
        revoked = sum(services.revoke_token(token) for token in queryset)
        self.message_user(request, _("%(n)d token(s) revoked.") % {"n": revoked}, messages.SUCCESS)
