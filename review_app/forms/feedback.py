"""Forms: Feedback 協作反饋表 and process-improvement suggestions 流程優化建議.

They parse input and keep what the person typed; the services decide and their
ValidationErrors are shown next to the fields they name (`add_service_error`).
"""

from __future__ import annotations

import datetime as dt
from functools import partial

from django import forms
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from collab.forms import BootstrapMixin, text_field
from collab.models import Department

from ..choices import FeedbackKind, SuggestionState
from ..models import Feedback, Suggestion
from ..selectors.feedback import FeedbackFilters, SuggestionFilters

TEXT_MAX = 4000


def _label(model, field: str):
    return capfirst(model._meta.get_field(field).verbose_name)


_text = partial(text_field, max_length=TEXT_MAX)


class _Form(BootstrapMixin, forms.Form):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Radio buttons and check boxes take Bootstrap's form-check classes.
        for field in self.fields.values():
            if isinstance(field.widget, forms.RadioSelect | forms.CheckboxSelectMultiple):
                field.widget.attrs["class"] = "form-check-input"


class FeedbackForm(_Form):
    """The 協作反饋表: type, content, departments concerned and the suggested handling."""

    kind = forms.ChoiceField(
        label=_label(Feedback, "kind"), choices=FeedbackKind.choices, widget=forms.RadioSelect
    )
    content = _text(
        _label(Feedback, "content"),
        rows=5,
        placeholder=_("Describe concrete behaviour: what happened, when, with what effect."),
    )
    departments = forms.ModelMultipleChoiceField(
        label=_label(Feedback, "departments"),
        queryset=Department.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The departments of this case your feedback is about."),
    )
    suggested_handling = _text(_label(Feedback, "suggested_handling"), required=False)

    def __init__(self, *args, departments=None, **kwargs):
        super().__init__(*args, **kwargs)
        if departments is not None:
            self.fields["departments"].queryset = departments


class HandlingForm(_Form):
    """The PMO's handling result; `seen` is the handling time the page showed."""

    handling_result = _text(_label(Feedback, "handling_result"), rows=4)
    seen = forms.CharField(required=False, widget=forms.HiddenInput)


class SuggestionForm(_Form):
    """The 流程優化建議表 as its proposer fills it in."""

    department = forms.ModelChoiceField(
        label=_label(Suggestion, "department"), queryset=Department.objects.none()
    )
    contact = forms.CharField(label=_label(Suggestion, "contact"), max_length=100, required=False)
    pain_point = _text(_label(Suggestion, "pain_point"), rows=4)
    proposal = _text(_label(Suggestion, "proposal"), rows=4)
    expected_effect = _text(_label(Suggestion, "expected_effect"))
    notes = _text(_label(Suggestion, "notes"), required=False, rows=2)

    def __init__(self, *args, departments=None, **kwargs):
        super().__init__(*args, **kwargs)
        if departments is not None:
            self.fields["department"].queryset = departments


class SuggestionTransitionForm(_Form):
    """A PMO's move of a suggestion, with the evaluation note."""

    transition = forms.CharField(widget=forms.HiddenInput)
    expected_state = forms.CharField(required=False, widget=forms.HiddenInput)
    comment = forms.CharField(
        label=_("Evaluation note"),
        required=False,
        max_length=TEXT_MAX,
        help_text=_("Required to adopt or not adopt: say why."),
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class FeedbackFilterForm(forms.Form):
    """The PMO list's filters; a bad value filters nothing rather than failing the page."""

    HANDLED = [("", _("Handled or not")), ("no", _("Awaiting handling")), ("yes", _("Handled"))]

    kind = forms.ChoiceField(required=False)
    handled = forms.ChoiceField(required=False, choices=HANDLED)
    department = forms.ModelChoiceField(
        required=False, queryset=Department.objects.filter(is_active=True).order_by("code")
    )
    month = forms.CharField(required=False, max_length=7)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [("", _("All types")), *FeedbackKind.choices]

    def clean_month(self) -> dt.date | None:
        value = self.cleaned_data.get("month") or ""
        try:
            return dt.datetime.strptime(value, "%Y-%m").date() if value else None
        except ValueError:
            return None

    def filters(self) -> FeedbackFilters:
        if not self.is_valid():
            return FeedbackFilters()
        department = self.cleaned_data.get("department")
        return FeedbackFilters(
            kind=self.cleaned_data.get("kind") or "",
            handled=self.cleaned_data.get("handled") or "",
            department=department.pk if department else None,
            month=self.cleaned_data.get("month"),
        )


class SuggestionFilterForm(forms.Form):
    state = forms.ChoiceField(required=False)
    mine = forms.BooleanField(required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["state"].choices = [("", _("All states")), *SuggestionState.choices]

    def filters(self) -> SuggestionFilters:
        if not self.is_valid():
            return SuggestionFilters()
        return SuggestionFilters(
            state=self.cleaned_data.get("state") or "", mine=bool(self.cleaned_data.get("mine"))
        )
