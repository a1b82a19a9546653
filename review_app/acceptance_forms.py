"""The acceptance answer form (成果驗收). It parses input; services.acceptance decides.

Whether a reason or a deadline is needed is the service's rule; the form only reads
the values and shows the service's errors next to the fields, keeping what was typed.
What the person is told once the answer is recorded (answered_message) is here too,
for the task page and the admin alike.
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from collab.forms import date_field, time_field
from tasks_app.action_forms import ActionForm
from tasks_app.models import DEFAULT_DUE_TIME

from .choices import AcceptanceOutcome, Verdict

ANSWERED = {
    Verdict.PASSED: _("Your answer “passed” was recorded."),
    Verdict.RECTIFY: _("The deliverable was sent back for rectification by the deadline."),
    Verdict.FAILED: _("The deliverable failed acceptance and went back to be re-planned."),
}
# The last 通過 of a round completes the task (services.acceptance._passed).
TASK_DONE = _("Passed. This was the last acceptance answer: the task is now done.")


def answered_message(verdict) -> str:
    """Return what to tell whoever just answered `verdict` (as services.acceptance
    .acceptance_answer returned it): the answer recorded, and when it was the last 通過
    of the round, that the task is now done."""
    if verdict.acceptance.outcome == AcceptanceOutcome.PASSED:
        return str(TASK_DONE)
    return str(ANSWERED[verdict.decision])


class AcceptanceAnswerForm(ActionForm):
    """通過, 需整改 (reason and rectification deadline) or 不通過 (reason).

    The deadline becomes the task's due date; `current_due_at` (the task's due date now)
    is shown next to it, and a deadline before it needs `confirm_earlier` ticked (the
    service's rule: services.acceptance._check_earlier).
    """

    # The service's error keys → the form's fields.
    service_fields = {"rectify_due_at": "rectify_date", "new_due_at": "rectify_date"}

    decision = forms.ChoiceField(
        label=_("Your answer"),
        choices=[(v.value, v.label) for v in (Verdict.PASSED, Verdict.RECTIFY, Verdict.FAILED)],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label=_("Reason"),
        required=False,
        max_length=4000,
        strip=True,
        help_text=_("Required for “needs rectification” and “failed”."),
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    rectify_date = date_field(
        label=_("Rectify by"),
        required=False,
        help_text=_("Required for “needs rectification”: the new due date of the task."),
    )
    rectify_time = time_field(
        label=_("Time"),
        required=False,
        initial=DEFAULT_DUE_TIME,
    )
    confirm_earlier = forms.BooleanField(
        label=_("Move the due date earlier"),
        required=False,
        help_text=_(
            "Tick when the deadline is before the task's current due date: the Responsible "
            "person then has less time than planned."
        ),
    )

    def __init__(self, *args, verdict=None, current_due_at: dt.datetime | None = None, **kwargs):
        if verdict is not None:
            # Several seats can be answered on one page: distinct ids, names and prefixes.
            kwargs.setdefault("prefix", f"seat{verdict.pk}")
        super().__init__(*args, **kwargs)
        self.fields["decision"].widget.attrs["class"] = "form-check-input"
        self.current_due_at = current_due_at
        if current_due_at is not None:
            due = date_format(timezone.localtime(current_due_at), "Y-m-d H:i")
            self.fields["rectify_date"].help_text = _(
                "Required for “needs rectification”: the new due date of the task (now %(due)s)."
            ) % {"due": due}

    def rectify_due_at(self) -> dt.datetime | None:
        """Return the deadline as an aware datetime, None when no date was given."""
        day = self.cleaned_data.get("rectify_date")
        if day is None:
            return None
        time = self.cleaned_data.get("rectify_time") or DEFAULT_DUE_TIME
        return timezone.make_aware(dt.datetime.combine(day, time))

    def answer_values(self) -> dict:
        """Return the answer as services.acceptance.acceptance_answer takes it (the task
        page and the admin page answer through the same form)."""
        return {
            "decision": self.cleaned_data["decision"],
            "reason": self.cleaned_data["reason"],
            "rectify_due_at": self.rectify_due_at(),
            "earlier_confirmed": self.cleaned_data["confirm_earlier"],
        }
