"""The governed 'country' picklist (ISO 3166-1 alpha-2 codes, English and Chinese names).

Databases created before the list existed get it here; on a new database 0002 has already loaded it and
this migration changes nothing. Values an admin has edited or deactivated are left as they are.
"""

from django.db import migrations


def load(apps, schema_editor):
    from revcast.core.governed import PICKLISTS

    Picklist = apps.get_model("core", "Picklist")
    PicklistValue = apps.get_model("core", "PicklistValue")
    label_en, label_zh, values = PICKLISTS["country"]
    picklist, _ = Picklist.objects.get_or_create(key="country", defaults={"label_en": label_en, "label_zh": label_zh})
    for order, (value, v_en, v_zh) in enumerate(values):
        PicklistValue.objects.get_or_create(
            picklist=picklist, value=value, defaults={"label_en": v_en, "label_zh": v_zh, "order": order}
        )


class Migration(migrations.Migration):
    dependencies = [("core", "0003_verbose_names")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
