from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from revcast.core import customfields
from revcast.core.models import CustomField, Picklist, PicklistValue


@pytest.fixture
def fields(db):
    pl = Picklist.objects.create(key="deal_type", label_en="Deal type", label_zh="交易类型")
    PicklistValue.objects.create(picklist=pl, value="new", label_en="New business", label_zh="新业务")
    PicklistValue.objects.create(picklist=pl, value="renewal", label_en="Renewal", label_zh="续约")
    CustomField.objects.create(
        object="opportunity", key="deal_type", label_en="Deal type", type="picklist", picklist=pl
    )
    CustomField.objects.create(object="opportunity", key="seats", label_en="Seats", type="number")
    CustomField.objects.create(object="opportunity", key="go_live", label_en="Go-live", type="date")
    CustomField.objects.create(object="opportunity", key="code", label_en="Code", type="text", max_length=5)


def test_values_are_coerced_by_type(fields):
    cleaned = customfields.clean(
        "opportunity", {"deal_type": "续约", "seats": "1,200", "go_live": "2018-02-01", "code": " AB "}
    )
    assert cleaned == {"deal_type": "renewal", "seats": 1200, "go_live": "2018-02-01", "code": "AB"}


def test_invalid_values_name_the_field_and_reason(fields):
    with pytest.raises(ValidationError) as err:
        customfields.clean(
            "opportunity",
            {"deal_type": "upsell", "seats": "many", "go_live": "01/02/2018", "code": "TOOLONG", "nope": 1},
        )
    messages = err.value.message_dict
    assert "not a value of picklist" in messages["custom.deal_type"][0]
    assert "not a number" in messages["custom.seats"][0]
    assert "not a date" in messages["custom.go_live"][0]
    assert "longer than 5" in messages["custom.code"][0]
    assert "no active custom field" in messages["custom.nope"][0]
