"""Users, roles, the reporting hierarchy, teams and regions."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class Region(models.Model):
    """A sales region / territory (e.g. Central, East, West)."""

    code = models.SlugField(_("code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=120)
    name_zh = models.CharField(_("Chinese name"), max_length=120, blank=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children", verbose_name=_("parent region")
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("region")
        verbose_name_plural = _("regions")

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A person using revcast. A sales rep is a user; usernames are lower-case ``first.last``."""

    class Role(models.TextChoices):
        ADMIN = "admin", _("Admin")
        MANAGER = "manager", _("Manager")
        REP = "rep", _("Sales rep")
        FINANCE = "finance", _("Finance")
        VIEWER = "viewer", _("Viewer")

    class Scope(models.TextChoices):
        SUBTREE = "subtree", _("Own records and everyone below in the hierarchy")
        ALL = "all", _("All records")

    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.REP)
    # The reporting line: any depth. Visibility and roll-ups follow it.
    manager = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="direct_reports",
        verbose_name=_("manager"),
    )
    team = models.ForeignKey(
        "org.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="members", verbose_name=_("team")
    )
    region = models.ForeignKey(
        Region, null=True, blank=True, on_delete=models.SET_NULL, related_name="users", verbose_name=_("region")
    )
    # For finance and viewer roles: see everything, or only their subtree.
    visibility_scope = models.CharField(
        _("visibility scope"), max_length=16, choices=Scope.choices, default=Scope.SUBTREE
    )
    external_id = models.CharField(_("external id"), max_length=120, null=True, blank=True, unique=True)

    class Meta:
        ordering = ["username"]
        verbose_name = _("user")
        verbose_name_plural = _("users")

    @property
    def full_name(self) -> str:
        return self.get_full_name() or self.username


class Team(models.Model):
    """A sales team. Teams nest (parent) and have a lead; membership is ``User.team``."""

    name = models.CharField(_("name"), max_length=120, unique=True)
    name_zh = models.CharField(_("Chinese name"), max_length=120, blank=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children", verbose_name=_("parent team")
    )
    lead = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="led_teams", verbose_name=_("team lead")
    )
    region = models.ForeignKey(
        Region, null=True, blank=True, on_delete=models.SET_NULL, related_name="teams", verbose_name=_("region")
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("team")
        verbose_name_plural = _("teams")

    def __str__(self) -> str:
        return self.name


class Quota(models.Model):
    """A sales target for one person or one team in one period (``2017-Q4``, ``2017-11``, ``FY2017``).

    A team's quota is set on its own and may differ from the sum of its members' quotas (managers often carry
    more, or less, than they hand out); roll-ups show both. The period is kept by its label, with the dates it
    covered when the quota was set (a later change of the fiscal calendar does not move stored quotas).
    """

    period = models.CharField(_("period"), max_length=16, help_text=_("2017-Q4, 2017-11 or FY2017."))
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"), help_text=_("First day after the period (exclusive)."))
    user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.CASCADE, related_name="quotas", verbose_name=_("user")
    )
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.CASCADE, related_name="quotas", verbose_name=_("team")
    )
    amount = models.DecimalField(_("amount"), max_digits=18, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="USD")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["period", "team__name", "user__username"]
        verbose_name = _("quota")
        verbose_name_plural = _("quotas")
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(user__isnull=False, team__isnull=True) | models.Q(user__isnull=True, team__isnull=False)),
                name="org_quota_user_xor_team",
            ),
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="org_quota_not_negative"),
            models.UniqueConstraint(fields=["period", "user"], condition=models.Q(user__isnull=False),
                                    name="org_quota_one_per_user_period"),
            models.UniqueConstraint(fields=["period", "team"], condition=models.Q(team__isnull=False),
                                    name="org_quota_one_per_team_period"),
        ]

    def __str__(self) -> str:
        who = self.user.username if self.user_id and self.user else (self.team.name if self.team else "?")
        return f"{who} {self.period}: {self.amount} {self.currency}"
