"""Forms of the forecast pages: run a forecast for a period as of a date; run a backtest."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from revcast.core import fiscal


class ForecastRunForm(forms.Form):
    """A period (a fiscal quarter ``2017-Q4``, a month ``2017-11`` or a fiscal year ``FY2017``) and an as-of date
    (empty: now)."""

    period = forms.CharField(
        label=_("Period"), max_length=16,
        help_text=_("A quarter (2017-Q4), a month (2017-11) or a fiscal year (FY2017)."),
        widget=forms.TextInput(attrs={"placeholder": "2017-Q4", "class": "form-control form-control-sm"}),
    )
    as_of = forms.DateField(
        label=_("As of"), required=False,
        help_text=_("Forecast with what was known at the start of this day (empty: now)."),
        widget=forms.DateInput(attrs={"type": "date", "class": "form-control form-control-sm"}),
    )

    def clean_period(self) -> str:
        text = self.cleaned_data["period"].strip().upper()
        try:
            return fiscal.parse_period(text).label
        except (ValueError, OverflowError):  # unreadable (PeriodError), or a year pandas cannot hold
            raise forms.ValidationError(
                _("Unknown period %(period)s: use a quarter (2017-Q4), a month (2017-11) or a fiscal year "
                  "(FY2017)."),
                params={"period": text}, code="period",
            ) from None

    def clean_as_of(self) -> dt.date | None:
        day = self.cleaned_data.get("as_of")
        if day is not None and day > timezone.now().date():
            raise forms.ValidationError(_("The as-of date cannot be in the future."), code="future")
        return day

    def service_values(self) -> dict[str, Any]:
        day = self.cleaned_data.get("as_of")
        return {"period": self.cleaned_data["period"], "as_of": day.isoformat() if day else None}


class BacktestRunForm(forms.Form):
    """Period kind, when in each period the forecast is made, and an optional span of periods."""

    period_kind = forms.ChoiceField(
        label=_("Periods"), choices=[("quarter", _("Quarters")), ("month", _("Months"))],
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )
    at = forms.ChoiceField(
        label=_("Forecast at"), choices=[("start", _("Start of each period")), ("mid", _("Middle of each period"))],
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )
    date_from = forms.DateField(
        label=_("From"), required=False,
        widget=forms.DateInput(attrs={"type": "date", "class": "form-control form-control-sm"}),
    )
    date_to = forms.DateField(
        label=_("To"), required=False,
        widget=forms.DateInput(attrs={"type": "date", "class": "form-control form-control-sm"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, last = data.get("date_from"), data.get("date_to")
        if first and last and last < first:
            raise forms.ValidationError(_("The end date is before the start date."), code="range")
        return data

    def service_values(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "period_kind": data["period_kind"],
            "at": data["at"],
            "start": data["date_from"].isoformat() if data.get("date_from") else None,
            "end": data["date_to"].isoformat() if data.get("date_to") else None,
        }
