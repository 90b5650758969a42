"""revcast token create USERNAME [--name NAME] [--expires-days N] | revoke PREFIX_OR_ID | list [USERNAME]

``create`` prints the token alone on standard output (one line), so that scripts can write
``TOKEN=$(revcast token create admin)``; what it says to people goes to standard error.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from revcast.api import services
from revcast.api.models import ApiToken
from revcast.org.models import User


class Command(BaseCommand):
    help = "Create, revoke and list API tokens (Authorization: Bearer TOKEN)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{create,revoke,list}")
        create = sub.add_parser("create", help="Create a token for a user and print it (it is shown only once).")
        create.add_argument("username")
        create.add_argument("--name", default="", help="What the token is for.")
        create.add_argument("--expires-days", type=int, default=None, metavar="N", help="Expire after N days.")
        revoke = sub.add_parser("revoke", help="Revoke a token by its prefix (rc_xxxxx) or id.")
        revoke.add_argument("token", metavar="PREFIX_OR_ID")
        listing = sub.add_parser("list", help="List tokens (of one user).")
        listing.add_argument("username", nargs="?")

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, "_" + options["action"])(options)

    def _create(self, options: dict[str, Any]) -> None:
        user = User.objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"no user {options['username']!r}")
        if not user.is_active:
            raise CommandError(f"user {user.username!r} is inactive")
        try:
            token, raw = services.create_token(user, name=options["name"], expires_days=options["expires_days"])
        except services.TokenError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(raw)
        expires = f", expires {token.expires_at:%Y-%m-%d %H:%M} UTC" if token.expires_at else ""
        self.stderr.write(
            f"token {token.prefix}… (id {token.pk}) for {user.username}{expires}; it is not shown again"
        )

    def _revoke(self, options: dict[str, Any]) -> None:
        try:
            token = services.find_token(options["token"])
        except services.TokenError as exc:
            raise CommandError(str(exc)) from None
        if services.revoke_token(token):
            self.stdout.write(f"revoked token {token.prefix}… (id {token.pk}) of {token.user.username}")
        else:
            self.stdout.write(f"token {token.prefix}… (id {token.pk}) was already revoked")

    def _list(self, options: dict[str, Any]) -> None:
        qs = ApiToken.objects.select_related("user").order_by("user__username", "created_at", "id")
        if options["username"]:
            if not User.objects.filter(username=options["username"]).exists():
                raise CommandError(f"no user {options['username']!r}")
            qs = qs.filter(user__username=options["username"])
        rows = [("ID", "PREFIX", "USER", "NAME", "CREATED", "LAST USED", "EXPIRES", "STATUS")]
        for t in qs:
            rows.append(
                (str(t.pk), t.prefix, t.user.username, t.name or "-", _when(t.created_at), _when(t.last_used_at),
                 _when(t.expires_at), t.status)
            )
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        for r in rows:
            self.stdout.write("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())
        if len(rows) == 1:
            self.stdout.write("(no tokens)")


def _when(value: Any) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else "-"
