"""Forms of the forecast call page: submitting one's own call, and a manager adjusting a number.

The forms only carry and show the input: every rule (amounts, commit ≤ best case, the note an adjustment needs,
who may adjust whom) is checked by ``forecasting.collab.services``, whose ``CollabError`` names the field the
view puts the message on. The browser is asked for the required fields (``required`` attributes) so that a
person is told before posting; a post without them gets the services' message on the field.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

MONEY_ATTRS = {"class": "form-control form-control-sm rc-table-num", "inputmode": "decimal", "autocomplete": "off"}


def _money(label: Any, *, required: bool, help_text: Any = "") -> forms.CharField:
    attrs = dict(MONEY_ATTRS, required=True) if required else dict(MONEY_ATTRS)
    return forms.CharField(label=label, required=False, max_length=32, help_text=help_text,
                           widget=forms.TextInput(attrs=attrs))


class CollabForm(forms.Form):
    """Shared: the period (hidden), and the error of a service put on its field (or on the form)."""

    period = forms.CharField(required=False, max_length=16, widget=forms.HiddenInput)

    def service_error(self, field: str, message: str) -> None:
        """Show a service's message on its field (on the form when the field is not one of the form's)."""
        if field in self.fields and not self.fields[field].widget.is_hidden:
            self.add_error(field, message)
            attrs = self.fields[field].widget.attrs
            attrs["class"] = f"{attrs.get('class', '')} is-invalid".strip()
            attrs["aria-invalid"] = "true"
            attrs["aria-describedby"] = f"{self[field].auto_id}_error"
        else:
            self.add_error(None, message)

    def text(self, name: str) -> str:
        return str(self.cleaned_data.get(name) or "").strip()


class SubmitForm(CollabForm):
    """A person's call for the period: commit, best case, pipeline (empty: what the deals say) and a note."""

    commit = _money(_("Commit"), required=True, help_text=_("What you are sure to close, won deals included."))
    best_case = _money(_("Best case"), required=True, help_text=_("Commit plus what could also close."))
    pipeline = _money(_("Pipeline"), required=False, help_text=_("Empty: the open deals of the period."))
    note = forms.CharField(label=_("Note"), required=False, max_length=2000,
                           widget=forms.Textarea(attrs={"class": "form-control form-control-sm", "rows": 2}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "id_submit_%s")
        super().__init__(*args, **kwargs)

    def service_values(self) -> dict[str, Any]:
        return {"commit": self.text("commit"), "best_case": self.text("best_case"),
                "pipeline": self.text("pipeline") or None, "note": self.text("note")}


class AdjustForm(CollabForm):
    """A manager's number for someone below them (or their own roll-up): commit and/or best case, with a note.

    ``user`` is the person adjusted; ``page`` the person whose page the form is on (where to come back to)."""

    user = forms.CharField(required=False, max_length=150, widget=forms.HiddenInput)
    page = forms.CharField(required=False, max_length=150, widget=forms.HiddenInput)
    commit = _money(_("Commit"), required=False)
    best_case = _money(_("Best case"), required=False)
    note = forms.CharField(label=_("Note (required)"), required=False, max_length=2000,
                           widget=forms.TextInput(attrs={"class": "form-control form-control-sm", "required": True,
                                                         "autocomplete": "off"}))

    def __init__(self, *args: Any, target: str = "", **kwargs: Any) -> None:
        slug = "".join(c if c.isalnum() else "_" for c in target) or "node"
        kwargs.setdefault("auto_id", f"id_adjust_{slug}_%s")
        super().__init__(*args, **kwargs)

    def service_values(self) -> dict[str, Any]:
        return {"commit": self.text("commit") or None, "best_case": self.text("best_case") or None,
                "note": self.text("note")}
