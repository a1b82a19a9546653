"""Forms: Final acceptance 成果驗收確認單 and the retrospective 復盤報告.

They parse input and keep what the person typed; the services decide, and their
ValidationErrors are shown next to the fields they name (`add_service_error`).
"""

from __future__ import annotations

from functools import partial

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from collab.forms import BootstrapMixin, text_field
from collab.models import Department
from requests_app.forms import DepartmentChoiceField, RowForm, RowFormSet

from ..models import DepartmentContribution, FinalAcceptance, Retrospective, RetrospectiveAction

TEXT_MAX = 4000
MAX_ACTIONS = 30


def _label(model, name: str):
    return model._meta.get_field(name).verbose_name


_text = partial(text_field, required=False, max_length=TEXT_MAX)


class FinalOpenForm(BootstrapMixin, forms.Form):
    """The initiator opens the 成果驗收確認單 with a summary of the results."""

    summary = _text(
        _label(FinalAcceptance, "summary"),
        required=True,
        rows=4,
        placeholder=_("What was delivered, against the goals and the expected deliverables."),
    )


class FinalDecisionForm(BootstrapMixin, forms.Form):
    """A head (or deputy) signs for their department, or refuses with the reason."""

    SIGN, REFUSE = "sign", "refuse"

    service_fields = {"reason": "comment"}

    decision = forms.ChoiceField(
        choices=[
            (SIGN, pgettext_lazy("final signature", "Sign")),
            (REFUSE, pgettext_lazy("final signature", "Refuse")),
        ],
        widget=forms.HiddenInput,
    )
    comment = _text(
        _("Comment (the reason, when refusing)"),
        rows=2,
        placeholder=_("Required when the department does not sign."),
    )


class RetrospectiveForm(BootstrapMixin, forms.Form):
    """The 復盤報告's own texts, each goal's actual value and the departments' contributions.

    `full` gives every part (initiator, PMO); otherwise only the contributions of the
    departments in `contribution_departments` (a head, a deputy).
    """

    version = forms.CharField(widget=forms.HiddenInput, required=False)
    highlights = _text(
        _label(Retrospective, "highlights"),
        rows=4,
        placeholder=_("e.g. The daily stand-up kept every department in step."),
    )
    shortcomings = _text(
        _label(Retrospective, "shortcomings"),
        rows=4,
        placeholder=_("e.g. A change of the requirements skipped the change process."),
    )

    def __init__(self, *args, view, full: bool, contribution_departments: set[int], **kwargs):
        self.full = full
        self.goal_fields: list[tuple[object, str]] = []
        self.contribution_fields: list[tuple[DepartmentContribution, str]] = []
        super().__init__(*args, **kwargs)
        if not full:
            del self.fields["highlights"]
            del self.fields["shortcomings"]
        else:
            for row in view.goals:
                name = f"goal_{row.goal.pk}"
                self.fields[name] = forms.DecimalField(
                    label=row.goal.description,
                    required=False,
                    max_digits=14,
                    decimal_places=2,
                    widget=forms.NumberInput(attrs={"step": "0.01", "data-goal": row.goal.pk}),
                )
                self.goal_fields.append((row, name))
        for contribution in view.contributions:
            if contribution.department_id not in contribution_departments:
                continue
            name = f"contribution_{contribution.department_id}"
            self.fields[name] = _text(contribution.department.name, rows=3)
            self.contribution_fields.append((contribution, name))
        # BootstrapMixin styled the fields that existed before these were added.
        for name, field in self.fields.items():
            if name.startswith(("goal_", "contribution_")):
                field.widget.attrs.setdefault("class", "form-control")

    @staticmethod
    def initial_for(view, version: str) -> dict:
        initial = {
            "version": version,
            "highlights": view.retrospective.highlights,
            "shortcomings": view.retrospective.shortcomings,
        }
        for row in view.goals:
            initial[f"goal_{row.goal.pk}"] = row.goal.actual_value
        for contribution in view.contributions:
            initial[f"contribution_{contribution.department_id}"] = contribution.contribution
        return initial

    def bound_goals(self):
        """Yield (goal row, bound field) for the template."""
        for row, name in self.goal_fields:
            yield row, self[name]

    def bound_contributions(self):
        for contribution, name in self.contribution_fields:
            yield contribution, self[name]

    def actual_values(self) -> dict[int, object] | None:
        if not self.full:
            return None
        return {row.goal.pk: self.cleaned_data.get(name) for row, name in self.goal_fields}

    def contributions(self) -> dict[int, str]:
        return {
            c.department_id: self.cleaned_data.get(name, "") for c, name in self.contribution_fields
        }


class ActionRowForm(RowForm):
    """One improvement action 改進措施: what will change, and the department that owns it."""

    columns = {"description": "col-12 col-md-7", "department": "col-8 col-md-3"}

    id = forms.IntegerField(required=False, widget=forms.HiddenInput)
    description = forms.CharField(
        label=_label(RetrospectiveAction, "description"),
        max_length=TEXT_MAX,
        widget=forms.Textarea(
            attrs={
                "rows": 2,
                "placeholder": _("e.g. Changes of requirements go through a change request."),
            }
        ),
    )
    department = DepartmentChoiceField(
        label=_label(RetrospectiveAction, "department"),
        queryset=Department.objects.filter(is_active=True),
        required=False,
    )


ActionFormSet = forms.formset_factory(
    ActionRowForm,
    formset=RowFormSet,
    extra=0,
    can_delete=True,
    max_num=MAX_ACTIONS,
    validate_max=True,
)


def action_formset(*, data=None, actions=(), department_choices=None) -> RowFormSet:
    """Return the improvement actions' formset, bound to `data` or filled from `actions`."""
    initial = [
        {"id": a.pk, "description": a.description, "department": a.department_id} for a in actions
    ]
    formset = ActionFormSet(
        data=data,
        initial=initial if data is None else None,
        prefix="actions",
        department_choices=department_choices,
    )
    if data is None and not initial:
        formset.extra = 1
    formset.title = _("Improvement actions")
    formset.icon = "tools"
    formset.add_label = _("Add an action")
    formset.help_text = _("Each action can then be raised as a process-improvement suggestion.")
    return formset
