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
