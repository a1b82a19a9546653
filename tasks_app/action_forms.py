"""Forms of the task pages' actions and filters. They parse input; the services decide.

Each form keeps what the person typed when a service refuses it, and shows the
service's ValidationError next to the field it names (see `add_service_error`).
"""

from __future__ import annotations

from functools import partial

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from collab.forms import BootstrapMixin, MultipleFileField, date_field, text_field, time_field

from .choices import RiskLevel, TaskState
from .models import DEFAULT_DUE_TIME, DueDateChange, ProgressUpdate, Task


def _label(model, field: str):
    return model._meta.get_field(field).verbose_name


class ActionForm(BootstrapMixin, forms.Form):
    """A task action's form; a service's field names may differ from the form's."""

    def typed_text(self) -> list[tuple[str, str]]:
        """Return (label, text) for what was typed in the text fields, to keep it on screen."""
        if not self.is_bound:
            return []
        texts = []
        for name, field in self.fields.items():
            if isinstance(field, forms.CharField):
                value = (self.data.get(self.add_prefix(name)) or "").strip()
                if value:
                    texts.append((str(field.label), value))
        return texts


_text = partial(text_field, rows=2)


class ProgressForm(ActionForm):
    """A line of the progress log 進度跟蹤表; the same form on 我的任務 and the task page."""

    percent = forms.IntegerField(
        label=_label(ProgressUpdate, "percent"),
        min_value=0,
        max_value=100,
        widget=forms.NumberInput(attrs={"step": 5, "inputmode": "numeric"}),
    )
    done = _text(
        _label(ProgressUpdate, "done"),
        placeholder=_("e.g. finished the first draft of the key visual"),
    )
    problems = _text(_label(ProgressUpdate, "problems"), required=False)
    support_needed = _text(_label(ProgressUpdate, "support_needed"), required=False)
    risk_level = forms.ChoiceField(
        label=_label(ProgressUpdate, "risk_level"),
        choices=RiskLevel.choices,
        initial=RiskLevel.NONE,
    )
    risk_note = _text(_label(ProgressUpdate, "risk_note"), required=False, rows=1)

    def __init__(self, *args, task: Task | None = None, **kwargs):
        if task is not None:
            # Distinct element ids for each task's form on 我的任務; the names stay plain.
            kwargs.setdefault("auto_id", f"id_progress{task.pk}_%s")
            kwargs.setdefault("initial", {"percent": task.progress_percent})
        super().__init__(*args, **kwargs)


class OverrideForm(ActionForm):
    """The Accountable person lets a task start before its predecessors are done."""

    reason = _text(_("Why may this task start now?"), rows=2)


class SubmitForm(ActionForm):
    """The deliverable: a completion note 完成說明 (required) and its files."""

    completion_note = _text(_label(Task, "completion_note"), rows=3)
    files = MultipleFileField(label=_("Deliverable files"), required=False)


class DueChangeForm(ActionForm):
    """A new due date (and time) with its reason and solution, kept in the history."""

    service_fields = {"new_due_at": "new_date"}

    new_date = date_field(_("New due date"))
    new_time = time_field(
        label=_("Due time"),
        initial=DEFAULT_DUE_TIME,
    )
    reason = _text(_label(DueDateChange, "reason"))
    solution = _text(_label(DueDateChange, "solution"))


class DepartmentFilterForm(forms.Form):
    """The department page's filters: state (open tasks by default), request, department."""

    OPEN, ALL = "open", "all"

    state = forms.ChoiceField(label=_("State"), required=False)
    request = forms.TypedChoiceField(label=_("Request"), required=False, coerce=int)
    department = forms.TypedChoiceField(label=_("Department"), required=False, coerce=int)

    def __init__(self, *args, requests=(), departments=(), **kwargs):
        """`requests` holds (pk, number, name) rows; `departments` Department objects."""
        super().__init__(*args, **kwargs)
        self.fields["state"].choices = [
            (self.OPEN, pgettext_lazy("task filter", "Open")),
            *TaskState.choices,
            (self.ALL, pgettext_lazy("task filter", "All")),
        ]
        self.fields["request"].choices = [("", _("All requests"))] + [
            (pk, f"{number} {name}") for pk, number, name in requests
        ]
        self.fields["department"].choices = [("", _("All my departments"))] + [
            (d.pk, d.name) for d in departments
        ]

    def values(self) -> dict:
        """Return the cleaned filters; an unknown value falls back to its default."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {
            "state": data.get("state") or self.OPEN,
            "request": data.get("request") or None,
            "department": data.get("department") or None,
        }
