"""Forms of the risk pages. They parse input; the services decide."""

from __future__ import annotations

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from collab.forms import BootstrapMixin, PersonChoiceField, text_field
from collab.models import Department, User
from requests_app.models import CollabRequest, Goal
from tasks_app.models import Task

from .choices import IMPACT_WORDS, PROBABILITY_WORDS
from .models import Risk

MOMENT_FORMAT = "%Y-%m-%dT%H:%M"


def _label(name: str):
    return Risk._meta.get_field(name).verbose_name


def moment_field(label, **kwargs) -> forms.DateTimeField:
    """A moment picked with the browser's datetime-local input (in the portal's zone)."""
    return forms.DateTimeField(
        label=label,
        input_formats=[MOMENT_FORMAT, "%Y-%m-%dT%H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=MOMENT_FORMAT),
        **kwargs,
    )


def _score_choices(words: dict) -> list[tuple[int, str]]:
    """1 · 極少 … 5 · 幾乎確定, in the reader's language (lazy: built when rendered)."""
    return [(n, format_lazy("{} · {}", n, words[n])) for n in range(1, 6)]


class TaskChoices(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.number} {obj.name}"


class RiskReportForm(BootstrapMixin, forms.Form):
    title = forms.CharField(label=_label("title"), max_length=200)
    task = forms.ModelChoiceField(
        label=_("Task concerned"), queryset=Task.objects.none(), required=False
    )
    description = text_field(_label("description"), rows=3)
    probability = forms.TypedChoiceField(
        label=_label("probability"), coerce=int, choices=_score_choices(PROBABILITY_WORDS)
    )
    impact = forms.TypedChoiceField(
        label=_label("impact"), coerce=int, choices=_score_choices(IMPACT_WORDS)
    )
    affected_tasks = TaskChoices(
        label=_label("affected_tasks"),
        queryset=Task.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    affected_departments = forms.ModelMultipleChoiceField(
        label=_label("affected_departments"),
        queryset=Department.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    affected_goals = forms.ModelMultipleChoiceField(
        label=_label("affected_goals"),
        queryset=Goal.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    affected_dates = text_field(_label("affected_dates"), required=False, rows=2)
    suggested_measures = text_field(_label("suggested_measures"), rows=3)
    discovered_at = moment_field(_label("discovered_at"))

    def __init__(self, *args, request: CollabRequest, **kwargs):
        super().__init__(*args, **kwargs)
        tasks = Task.objects.filter(request=request).order_by("sequence")
        self.fields["task"].queryset = tasks
        self.fields["task"].label_from_instance = lambda t: f"{t.number} {t.name}"
        self.fields["affected_tasks"].queryset = tasks
        self.fields["affected_departments"].queryset = Department.objects.filter(is_active=True)
        self.fields["affected_goals"].queryset = Goal.objects.filter(request=request)
        for name in ("affected_tasks", "affected_departments", "affected_goals"):
            self.fields[name].widget.attrs["class"] = "form-check-input"


class AcceptForm(BootstrapMixin, forms.Form):
    owner = PersonChoiceField(
        label=_label("owner"),
        queryset=User.objects.filter(is_active=True).select_related("department"),
    )
    response_due = moment_field(_label("response_due"))
    plan = text_field(_label("response_plan"), rows=3)


class NoteForm(BootstrapMixin, forms.Form):
    note = text_field(_("Note"), rows=2)
