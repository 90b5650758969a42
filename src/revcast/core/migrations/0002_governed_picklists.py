from django.db import migrations


def load(apps, schema_editor):
    from revcast.core.governed import PICKLISTS

    Picklist = apps.get_model("core", "Picklist")
    PicklistValue = apps.get_model("core", "PicklistValue")
    for key, (label_en, label_zh, values) in PICKLISTS.items():
        picklist, _ = Picklist.objects.get_or_create(key=key, defaults={"label_en": label_en, "label_zh": label_zh})
        for order, (value, v_en, v_zh) in enumerate(values):
            PicklistValue.objects.get_or_create(
                picklist=picklist, value=value, defaults={"label_en": v_en, "label_zh": v_zh, "order": order}
            )


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
