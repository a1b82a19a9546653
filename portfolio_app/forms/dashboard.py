"""The dashboard's filter bar: department and period. It parses input; the selectors count."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils.translation import gettext_lazy as _

from collab.forms import BootstrapMixin

from ..selectors import dashboard as selectors

# A custom period spans at most this many days: the charts and the lists stay readable,
# and the counting stays within what the indexes make cheap.
MAX_PERIOD_DAYS = 3 * 366


class DashboardFilterForm(BootstrapMixin, forms.Form):
    """Department (within the viewer's scope) and period. Invalid input is reported and
    the default period is used meanwhile, so the page always shows something."""

    department = forms.TypedChoiceField(
        label=_("Department"), required=False, coerce=int, empty_value=None
    )
    period = forms.ChoiceField(
        label=_("Period"),
        required=False,
        choices=selectors.PERIOD_CHOICES,
        initial=selectors.DEFAULT_PERIOD,
    )
    start = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, data=None, *, departments, **kwargs):
        if data is not None:
            # The links carry "from"/"to" (shorter, and what people type in URLs).
            data = data.copy()
            for short, name in (("from", "start"), ("to", "end")):
                if short in data and name not in data:
                    data[name] = data[short]
        super().__init__(data, **kwargs)
        self.departments = {department.pk: department for department in departments}
        self.fields["department"].choices = [("", _("All my departments"))] + [
            (department.pk, department.name) for department in departments
        ]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("period") == selectors.PERIOD_CUSTOM:
            start, end = cleaned.get("start"), cleaned.get("end")
            if not start or not end:
                raise forms.ValidationError(
                    _("Give both dates of a custom period."), code="period_dates"
                )
            if start > end:
                raise forms.ValidationError(
                    _("The period starts after it ends."), code="period_order"
                )
            if (end - start).days > MAX_PERIOD_DAYS:
                raise forms.ValidationError(
                    _("A period can span at most three years."), code="period_length"
                )
        return cleaned

    def filter(self, *, scope, user, today: dt.date | None = None) -> selectors.DashboardFilter:
        """Return the filter the form asks for, or the default one where it is invalid."""
        values = self.cleaned_data if self.is_bound and self.is_valid() else {}
        key = values.get("period") or selectors.DEFAULT_PERIOD
        if key == selectors.PERIOD_CUSTOM:
            period = selectors.Period(values["start"], values["end"], selectors.PERIOD_CUSTOM)
        else:
            period = selectors.Period.preset(key, today=today)
        department = self.departments.get(values.get("department"))
        return selectors.DashboardFilter(
            scope=scope, period=period, department=department, user=user
        )


def requested_period(data) -> selectors.Period:
    """Return the period a dashboard query string asks for, as the dashboard reads it.

    For the rate limit on long periods (portfolio_app.views.dashboard), before the page
    reads the viewer's departments: the department is left out, as it never changes
    the period; an invalid period falls back to the default one, as on the page.
    """
    data = data.copy()
    data.pop("department", None)
    form = DashboardFilterForm(data or None, departments=[])
    return form.filter(scope=None, user=None).period
