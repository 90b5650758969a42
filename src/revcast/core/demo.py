"""Loading the demo: the Maven data set shipped inside the package, through the import path users use."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction

from revcast.dataio import mapping as mapping_module
from revcast.dataio.models import ImportRun
from revcast.dataio.runner import run_import

DEMO_DATA = Path(__file__).resolve().parent.parent / "demo_data" / "maven_crm"


def demo_mapping_path() -> Path:
    return Path(settings.REVCAST_MAPPINGS_DIR) / "maven_crm.yaml"


@dataclass
class DemoSummary:
    run: ImportRun
    opportunities: int
    accounts: int
    reps: int
    managers: int
    regions: int
    products: int
    users: int


def load_demo() -> DemoSummary:
    """Import the Maven data (idempotent), create the admin login and give every demo user the demo password."""
    from revcast.customers.models import Account
    from revcast.org.models import Region, User
    from revcast.pipeline.models import Opportunity, Product

    run = run_import(DEMO_DATA, mapping_module.load(demo_mapping_path()))
    with transaction.atomic():
        admin, created = User.objects.get_or_create(
            username="admin",
            defaults={"role": User.Role.ADMIN, "is_staff": True, "is_superuser": True, "first_name": "Admin"},
        )
        if created:
            admin.set_unusable_password()
            admin.save(update_fields=["password"])
        if not admin.is_superuser:
            admin.is_superuser = admin.is_staff = True
            admin.role = User.Role.ADMIN
            admin.save()
        # One hash shared by the demo logins that have no password yet (the imported people and a new
        # admin); a password someone set is never overwritten.
        demo_hash = make_password(settings.REVCAST_DEMO_PASSWORD)
        fresh = [u.pk for u in User.objects.only("password") if not u.has_usable_password()]
        User.objects.filter(pk__in=fresh).update(password=demo_hash)
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # fresh statistics for the planner after a bulk load
    return DemoSummary(
        run=run,
        opportunities=Opportunity.objects.count(),
        accounts=Account.objects.count(),
        reps=User.objects.filter(role=User.Role.REP).count(),
        managers=User.objects.filter(role=User.Role.MANAGER).count(),
        regions=Region.objects.count(),
        products=Product.objects.count(),
        users=User.objects.count(),
    )
