"""The quick activity form: one tap picks the type, the form comes pre-filled with it and the time now."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from revcast.activities.models import Activity

# The types offered as one-tap buttons on a deal (tasks are planned work, not logged contact).
QUICK_TYPES: tuple[str, ...] = tuple(
    str(t) for t in (Activity.Type.CALL, Activity.Type.MEETING, Activity.Type.VISIT, Activity.Type.EMAIL,
                     Activity.Type.FOLLOW_UP)
)


def quick_type_choices() -> list[tuple[str, str]]:
    """(value, translated label) of the one-tap activity types, in button order."""
    labels = dict(Activity.Type.choices)
    return [(value, str(labels[value])) for value in QUICK_TYPES]


DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


class QuickActivityForm(forms.Form):
    type = forms.ChoiceField(choices=Activity.Type.choices, label=_("Type"), widget=forms.HiddenInput)
    occurred_at = forms.DateTimeField(
        label=_("When"),
        input_formats=[DATETIME_LOCAL, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL),
    )
    subject = forms.CharField(label=_("Subject"), max_length=255, required=False)
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=10000
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "activity_%s")
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.fields["occurred_at"].initial = timezone.localtime().replace(second=0, microsecond=0)
        for name in ("occurred_at", "subject", "note"):
            self.fields[name].widget.attrs["class"] = "form-control"

    @property
    def type_label(self) -> str:
        value = self["type"].value()
        try:
            return str(Activity.Type(value).label)
        except ValueError:
            return str(value or "")

    def service_values(self) -> dict[str, Any]:
        """Keyword arguments for ``activities.services.log_activity`` (besides owner and opportunity)."""
        cd = self.cleaned_data
        return {"type": cd["type"], "occurred_at": cd["occurred_at"], "subject": cd["subject"], "note": cd["note"]}
