"""Form: the month of the collaboration analysis 協作分析報告 (?month=YYYY-MM)."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from ..selectors.analysis import FIRST_MONTH, month_start, parse_month, previous_month


class AnalysisMonthForm(forms.Form):
    """Parse `month` as YYYY-MM; no month means the previous one. The month may be the
    current one (figures so far), not a later one, nor one before FIRST_MONTH."""

    month = forms.CharField(
        label=_("Month"),
        required=False,
        max_length=7,
        strip=True,
        widget=forms.TextInput(attrs={"type": "month", "class": "form-control"}),
    )

    def __init__(self, *args, today: dt.date | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today or timezone.localdate()

    def clean_month(self) -> dt.date:
        text = self.cleaned_data.get("month") or ""
        if not text:
            return previous_month(self.today)
        try:
            month = parse_month(text)
        except ValueError:
            raise forms.ValidationError(
                _("Give the month as YYYY-MM, for example %(example)s."),
                code="invalid",
                params={"example": f"{previous_month(self.today):%Y-%m}"},
            ) from None
        if month > month_start(self.today):
            raise forms.ValidationError(
                _("%(month)s has not begun yet: choose this month or an earlier one."),
                code="future",
                params={"month": date_format(month, "YEAR_MONTH_FORMAT")},
            )
        if month < FIRST_MONTH:
            raise forms.ValidationError(
                _("The report starts from %(month)s."),
                code="too_early",
                params={"month": date_format(FIRST_MONTH, "YEAR_MONTH_FORMAT")},
            )
        return month
