"""Admin pages: task acceptance 成果驗收 (verdicts 通過 / 需整改 / 不通過).

The rounds and their answers are records: read-only here, scoped like the tasks
(tasks_app.permissions.visible_tasks: a head sees the tasks of their departments'
requests, the PMO all). One thing is done here: a reviewer with admin access (a head,
or a deputy acting for one) answers the seats they hold from the round's page. The
buttons call review_app.services.acceptance.acceptance_answer, which checks the seat,
locks the rows, logs the answer and notifies, exactly as the task page does.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from collab import errors
from collab.admin import (
    AwaitingMeFilter,
    ReadOnlyAdmin,
    ReadOnlyInline,
    ServiceAdminMixin,
    portal_link,
)
from requests_app.admin import ArchivedCaseAdminMixin
from tasks_app import permissions as task_permissions

from ..acceptance_forms import AcceptanceAnswerForm, answered_message
from ..choices import AcceptanceOutcome
from ..models import AcceptanceVerdict, TaskAcceptance
from ..permissions import acceptance as permissions
from ..services import acceptance as services

# The POST name of the answer buttons: "<seat pk>".
SEAT_PARAM = "_acceptance_seat"


class AcceptanceVerdictInline(ReadOnlyInline):
    """Every seat of the round with its answer; written only by the service."""

    model = AcceptanceVerdict
    fields = [
        "seat",
        "reviewer",
        "department",
        "decision",
        "reason",
        "rectify_due_at",
        "decided_by",
        "on_behalf_of",
        "decided_at",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("reviewer", "department", "decided_by", "on_behalf_of")
        )


class AwaitingMyAnswerFilter(AwaitingMeFilter):
    """The open rounds with a seat waiting on the person."""

    title = _("awaiting my answer")

    def awaiting(self, request):
        acting = permissions.acting_for(request.user)
        seats = permissions.keep_answerable(
            permissions.answerable_verdicts(request.user, acting=acting), acting
        )
        return {v.acceptance_id for v in seats}


@admin.register(TaskAcceptance)
class TaskAcceptanceAdmin(ArchivedCaseAdminMixin, ServiceAdminMixin, ReadOnlyAdmin):
    """The acceptance rounds of the tasks, with every answer; read-only."""

    change_form_template = "admin/review_app/taskacceptance/change_form.html"
    list_display = ["task", "round", "outcome", "due_date", "submitted_at", "closed_at"]
    list_filter = [AwaitingMyAnswerFilter, "outcome"]
    search_fields = ["task__number", "task__name", "task__request__name"]
    list_select_related = ["task"]
    date_hierarchy = "submitted_at"
    fields = [
        "task",
        "round",
        "outcome",
        "completion_note",
        "submitted_by",
        "submitted_at",
        "due_date",
        "rectify_due_at",
        "closed_at",
        "task_page",
    ]
    readonly_fields = fields
    inlines = [AcceptanceVerdictInline]

    def get_queryset(self, request):
        tasks = task_permissions.visible_tasks(request.user).values("pk")
        return super().get_queryset(request).filter(task__in=tasks)

    @admin.display(description=_("task page"))
    def task_page(self, obj):
        return portal_link(obj.get_absolute_url())

    def seats_to_answer(self, request, obj: TaskAcceptance) -> list[AcceptanceVerdict]:
        """Return the pending seats of `obj` the person may answer, with `acting_for`."""
        if obj.outcome != AcceptanceOutcome.OPEN:
            return []
        acting = permissions.acting_for(request.user)
        seats = permissions.answerable_verdicts(request.user, acting=acting).filter(acceptance=obj)
        return permissions.keep_answerable(seats.select_related("department"), acting)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            bound = getattr(request, "_acceptance_form", None)
            seats = self.seats_to_answer(request, obj)
            for seat in seats:
                seat.form = (
                    bound
                    if bound is not None and bound.prefix == f"seat{seat.pk}"
                    else AcceptanceAnswerForm(verdict=seat, current_due_at=obj.task.due_at)
                )
            context["seats_to_answer"] = seats
            context["seat_param"] = SEAT_PARAM
        return super().render_change_form(request, context, add, change, form_url, obj)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "POST" and SEAT_PARAM in request.POST:
            response = self._answer(request, object_id)
            if response is not None:
                return response
            request.method = "GET"  # show the page again with the form as typed
        return super().change_view(request, object_id, form_url, extra_context)

    def _answer(self, request, object_id):
        """Answer through the service; the admin never writes the rows itself."""
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        pk = request.POST.get(SEAT_PARAM, "")
        verdict = obj.verdicts.filter(pk=pk if pk.isdigit() else None).first()
        if verdict is None:
            self.message_user(request, gettext("This action is not possible now."), messages.ERROR)
            return HttpResponseRedirect(request.path)
        form = AcceptanceAnswerForm(request.POST, verdict=verdict, current_due_at=obj.task.due_at)
        if form.is_valid():
            try:
                answered = services.acceptance_answer(
                    verdict=verdict, by=request.user, **form.answer_values()
                )
            except ValidationError as exc:
                form.add_service_error(exc)
            except errors.REFUSALS as exc:
                self.message_refusal(request, exc)
                return HttpResponseRedirect(request.path)
            else:
                self.message_user(request, answered_message(answered), messages.SUCCESS)
                return HttpResponseRedirect(request.path)
        self.message_user(request, gettext("Please correct the errors below."), messages.ERROR)
        request._acceptance_form = form
        return None
