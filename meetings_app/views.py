"""Meeting pages: my meetings, the month calendar, a request's meetings, the meeting page
with its minutes, the minutes editor, action items and weekly series.

Every view that names an object looks it up through meetings_app.permissions (by way of
meetings_app.selectors) before anything else, whatever the method: whoever may not see
it gets 404, never a 405 or a form that tells the object exists. A person who sees it but
may not act on it gets 403 (PermissionDenied, from the view's check or the service's).

The action views parse input, call one service and redirect; an htmx request (a
comment, a problem's status) gets the section it swaps instead. The services refuse
with ValidationError (shown next to the fields it names) and collab.errors' ServiceError
(Conflict, Refused: shown as messages); what was typed is shown again.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dates import WEEKDAYS, WEEKDAYS_ABBR
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_http_methods, require_safe

from collab import errors, uploads
from collab.calendar import WorkingDays, add_working_days
from collab.errors import ServiceError
from collab.paging import paginate
from requests_app import file_views as request_file_views
from requests_app import permissions as request_permissions
from requests_app.choices import OPEN_STATES
from tasks_app.deadlines import Deadlines

from . import carryover, permissions, selectors, services
from .choices import ActionState, MeetingKind, MeetingState, MinutesState
from .forms import (
    ActionAcceptForm,
    ActionForm,
    ActionProgressForm,
    ActionReasonForm,
    ActionSubmitForm,
    CommentForm,
    MeetingPlanForm,
    MinutesEditor,
    NoInputForm,
    ProblemStatusForm,
    ReasonForm,
    SeriesForm,
)
from .models import ActionItem, Meeting

PAGE_SIZE = 20
READ = ("GET", "HEAD")
COMMENTS_TEMPLATE = "meetings_app/_comments.html"
PROBLEMS_TEMPLATE = "meetings_app/_problems.html"


# --- small view helpers ------------------------------------------------------------------


def _only(request, methods: tuple[str, ...]) -> HttpResponseNotAllowed | None:
    """Answer 405 to another method, once the object was found (404 comes first)."""
    if request.method not in methods:
        return HttpResponseNotAllowed(methods)
    return None


def _expected_state(request, values) -> str | None:
    """Return the state the page showed when it was rendered (hidden form field)."""
    value = request.POST.get("expected_state", "")
    return value if value in values else None


def _mark(actions: list[ActionItem]) -> list[ActionItem]:
    """Set the timing badges tasks_app.deadlines gives a task on each action item."""
    return Deadlines().mark(actions)


def _editor_or_refuse(request, meeting: Meeting, allowed: bool, message: str):
    """Return None when `allowed`; else a redirect with `message` for the meeting's
    editors (the meeting moved on), or raise PermissionDenied for anyone else."""
    if allowed:
        return None
    if permissions.is_editor(request.user, meeting):
        messages.error(request, message)
        return redirect(meeting)
    raise PermissionDenied(_("Only the organiser, the recorder or the PMO do this."))


def _request_param(request):
    """Return the request named by ?request=<pk> (404 unless visible), or None."""
    pk = request.GET.get("request") or request.POST.get("request")
    if not pk:
        return None
    return request_permissions.get_visible_or_404(request.user, pk)


def _choose_request(request, *, series: bool):
    """Tell someone who may not call a meeting of no request to call it from a request:
    list the open requests they take part in."""
    requests = (
        request_permissions.participating_requests(request.user)
        .filter(state__in=OPEN_STATES, is_archived=False)
        .order_by("-created_at")[:PAGE_SIZE]
    )
    return render(
        request, "meetings_app/choose_request.html", {"requests": requests, "series": series}
    )


# --- my meetings ------------------------------------------------------------------------


@dataclass(frozen=True)
class Tab:
    key: str
    label: str
    icon: str


TABS = (
    Tab("upcoming", gettext_lazy("Upcoming"), "calendar-event"),
    Tab("minutes", gettext_lazy("Minutes to write"), "pencil-square"),
    Tab("actions", gettext_lazy("My action items"), "check2-square"),
    Tab("past", gettext_lazy("Past"), "clock-history"),
)


@require_safe
def my_meetings(request):
    """List the meetings I organise, record or attend (upcoming, past), the minutes I
    have to write, and my open action items, one tab at a time, by pages."""
    user, now = request.user, timezone.now()
    lists = selectors.my_lists(user, now)
    keys = [tab.key for tab in TABS]
    tab = request.GET.get("tab") if request.GET.get("tab") in keys else "upcoming"
    counts = {key: rows.count() for key, rows in lists.items()}
    paged = paginate(request, lists[tab], PAGE_SIZE)
    rows = list(paged["page"].object_list)
    if tab == "actions":
        _mark(rows)
    return render(
        request,
        "meetings_app/mine.html",
        {
            **paged,
            "rows": rows,
            "tabs": [(t, counts[t.key]) for t in TABS],
            "tab": tab,
            "now": now,
            "can_call_standing": permissions.can_schedule(user, None),
        },
    )


# --- the month calendar -----------------------------------------------------------------


def _month(text: str | None, today: dt.date) -> dt.date:
    """Return the first day of ?month=YYYY-MM, this month when it is missing or wrong."""
    try:
        year, month = (int(part) for part in (text or "").split("-"))
        return dt.date(year, month, 1)
    except ValueError:
        return today.replace(day=1)


def _shift(month: dt.date, months: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _start_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


@require_safe
def calendar(request):
    """Show a month (weeks Monday to Sunday) with the meetings the user may see; the
    days that are not working days (weekends, holidays) are greyed."""
    today = timezone.localdate()
    month = _month(request.GET.get("month"), today)
    first = month - dt.timedelta(days=month.weekday())
    following = _shift(month, 1)
    last = following + dt.timedelta(days=(7 - following.weekday()) % 7)
    meetings = selectors.calendar_meetings(request.user, _start_of(first), _start_of(last))
    by_day = defaultdict(list)
    for meeting in meetings:
        by_day[timezone.localdate(meeting.starts_at)].append(meeting)
    working = WorkingDays(month + dt.timedelta(days=15))
    days = [first + dt.timedelta(days=n) for n in range((last - first).days)]
    weeks = [
        [
            {
                "date": day,
                "in_month": day.month == month.month,
                "workday": working.is_workday(day),
                "weekend": day.weekday() >= 5,
                "today": day == today,
                "meetings": by_day.get(day, []),
            }
            for day in days[start : start + 7]
        ]
        for start in range(0, len(days), 7)
    ]
    return render(
        request,
        "meetings_app/calendar.html",
        {
            "month": month,
            "weeks": weeks,
            "weekdays": [WEEKDAYS_ABBR[n] for n in range(7)],
            "previous": f"{_shift(month, -1):%Y-%m}",
            "next": f"{following:%Y-%m}",
            "this_month": f"{today:%Y-%m}",
            "count": len(meetings),
        },
    )


# --- a request's meetings ---------------------------------------------------------------


def request_meetings(request, request_pk):
    """List a request's meetings (those the user may see), with their minutes and open
    action items, and its weekly series."""
    user = request.user
    obj = selectors.request_for_meetings(user, request_pk)
    if refused := _only(request, READ):
        return refused
    paged = paginate(request, selectors.request_meetings(user, obj), PAGE_SIZE)
    series_list = selectors.request_series(user, obj)
    for series in series_list:
        series.weekday_name = WEEKDAYS[series.weekday]
    return render(
        request,
        "meetings_app/request.html",
        {
            **paged,
            "object": obj,
            "series_list": series_list,
            "can_schedule": permissions.can_schedule(user, obj),
            "sees_request": request_permissions.can_view(user, obj),
            "now": timezone.now(),
        },
    )


# --- scheduling and changing a meeting --------------------------------------------------


def _plan_context(form, **extra) -> dict:
    return {"form": form, "short_notice": form.is_bound and form.starts_soon(), **extra}


@require_http_methods(["GET", "HEAD", "POST"])
def meeting_create(request):
    """Call a meeting (of ?request=<pk>, or a standing one); the invitation goes out."""
    user = request.user
    target = _request_param(request)
    if not permissions.can_schedule(user, target):
        if target is not None:
            raise PermissionDenied(_("Only people who take part in the request call its meetings."))
        return _choose_request(request, series=False)
    people, departments = selectors.active_people(), selectors.departments()
    if request.method == "POST":
        form = MeetingPlanForm(request.POST, people=people, departments=departments)
        if form.is_valid():
            try:
                meeting = services.meeting_schedule(
                    by=user, request=target, **form.service_arguments()
                )
            except ValidationError as exc:
                form.add_service_error(exc)
            except ServiceError as exc:
                errors.flash(request, exc)
            else:
                messages.success(request, _("The meeting is scheduled; the invitations are sent."))
                return redirect(meeting)
        if form.errors:
            messages.error(request, _("Please correct the errors below."))
    else:
        initial = MeetingPlanForm.initial_new(
            user=user,
            day=add_working_days(timezone.localdate(), 2),
            request=target,
            departments=services.request_departments(target) if target is not None else (),
        )
        if request.GET.get("kind") in MeetingKind.values:
            initial["kind"] = request.GET["kind"]
        form = MeetingPlanForm(initial=initial, people=people, departments=departments)
    return render(
        request,
        "meetings_app/meeting_form.html",
        _plan_context(form, request_obj=target, meeting=None),
    )


def meeting_edit(request, pk):
    """Change a scheduled meeting; a change of time, place or people re-sends the
    invitation (an update of the same calendar event)."""
    user = request.user
    meeting = selectors.meeting_for_form(user, pk)
    if refused := _only(request, ("GET", "HEAD", "POST")):
        return refused
    if refused := _editor_or_refuse(
        request,
        meeting,
        permissions.can_edit(user, meeting),
        _("This meeting can no longer be changed."),
    ):
        return refused
    people, departments = selectors.active_people(), selectors.departments()
    if request.method == "POST":
        form = MeetingPlanForm(request.POST, people=people, departments=departments)
        if form.is_valid():
            try:
                services.meeting_update(
                    meeting=meeting,
                    by=user,
                    expected_revision=form.seen_revision(),
                    **form.service_arguments(),
                )
            except ValidationError as exc:
                form.add_service_error(exc)
            except ServiceError as exc:
                errors.flash(request, exc)
            else:
                messages.success(request, _("The meeting was changed."))
                return redirect(meeting)
        if form.errors:
            messages.error(request, _("Please correct the errors below."))
    else:
        form = MeetingPlanForm(
            initial=MeetingPlanForm.initial_for(meeting), people=people, departments=departments
        )
    return render(
        request,
        "meetings_app/meeting_form.html",
        _plan_context(form, request_obj=meeting.request, meeting=meeting),
    )


# --- the meeting page -------------------------------------------------------------------


def _version(request) -> int | None:
    try:
        return int(request.GET["version"])
    except (KeyError, ValueError):
        return None


def _comments_context(user, meeting: Meeting, *, form=None, notice="", error="") -> dict:
    return {
        "meeting": meeting,
        "comments": list(meeting.comments.all()),
        "comment_form": (form or CommentForm()) if permissions.can_comment(user, meeting) else None,
        "notice": notice,
        "error": error,
    }


def _problems_context(user, meeting: Meeting, *, bound=None, notice="", error="") -> dict:
    """The problems card: each filed problem, and its status form for the editors."""
    problems = selectors.meeting_problems(meeting)
    can_change = permissions.can_write_minutes(user, meeting)
    bound_pk, bound_form = bound or (None, None)
    for problem in problems:
        if can_change:
            fresh = problem.pk != bound_pk
            problem.form = ProblemStatusForm(problem=problem) if fresh else bound_form
    return {
        "meeting": meeting,
        "problems": problems,
        "can_change_problems": can_change,
        "problems_notice": notice,
        "problems_error": error,
    }


def _render_meeting(request, pk, **bound):
    """Render the meeting page; `bound` holds forms to show again as they were typed."""
    user = request.user
    meeting = selectors.meeting_for_page(user, pk)
    versions = meeting.versions
    asked = _version(request)
    minutes = selectors.minutes_version(meeting, asked)
    if asked is not None and minutes is None:
        raise Http404
    filed = [m for m in versions if m.state == MinutesState.FILED]
    latest = filed[-1] if filed else None
    draft = selectors.open_draft(meeting)
    can_write = permissions.can_write_minutes(user, meeting)
    actions = _mark(selectors.meeting_actions(user, meeting))
    carried_actions, carried_problems = selectors.carried_over(user, meeting)
    _mark(carried_actions)
    can_next = (
        can_write
        and latest is not None
        and latest.next_meeting_at is not None
        and meeting.state == MeetingState.MINUTES_FILED
        and not meeting.following.exclude(state=MeetingState.CANCELLED).exists()
        and carryover.next_in_series(meeting) is None
    )
    allowed = {
        "edit": permissions.can_edit(user, meeting),
        "cancel": permissions.can_cancel(user, meeting),
        "write": can_write and meeting.state == MeetingState.SCHEDULED and draft is None,
        "continue": can_write and draft is not None,
        "file": can_write and draft is not None,
        "correct": can_write and meeting.state == MeetingState.MINUTES_FILED and draft is None,
        "next": can_next,
        "pdf": latest is not None,
    }
    context = {
        "meeting": meeting,
        "request_obj": meeting.request,
        "minutes": minutes,
        "versions": versions,
        "latest": latest,
        "draft": draft,
        "draft_revision": services.revision(draft) if draft else "",
        "people": [(row.user, row) for row in minutes.attendance.all()]
        if minutes
        else [(person, None) for person in meeting.participants.all()],
        "actions": actions,
        "carried_actions": carried_actions,
        "carried_problems": carried_problems,
        "events": selectors.meeting_events(meeting),
        "allowed": allowed,
        "is_editor": permissions.is_editor(user, meeting),
        "cancel_form": bound.get("cancel") or ReasonForm(),
        "correct_form": bound.get("correct") or ReasonForm(),
        "open_form": next(iter(bound), ""),
        **_comments_context(user, meeting, form=bound.get("comment")),
        **_problems_context(user, meeting, bound=bound.get("problem")),
    }
    return render(request, "meetings_app/detail.html", context)


def meeting_detail(request, pk):
    """Show a meeting: its plan, agenda, carried-over items, minutes (the latest filed
    version, or ?version=N), problems, action items, comments and history."""
    if request.method not in READ:
        selectors.meeting_for_action(request.user, pk)  # 404 first for whoever may not see it
        return HttpResponseNotAllowed(READ)
    return _render_meeting(request, pk)


def meeting_cancel(request, pk):
    """Call the meeting off, with a reason; the calendars get a CANCEL."""
    meeting = selectors.meeting_for_action(request.user, pk)
    if refused := _only(request, ("POST",)):
        return refused
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say why the meeting is cancelled."))
        return _render_meeting(request, pk, cancel=form)
    try:
        services.meeting_cancel(
            meeting=meeting,
            by=request.user,
            reason=form.cleaned_data["reason"],
            expected_state=_expected_state(request, MeetingState.values),
        )
    except ValidationError as exc:
        form.add_service_error(exc)
        errors.flash(request, exc)
        return _render_meeting(request, pk, cancel=form)
    except ServiceError as exc:
        errors.flash(request, exc)
    else:
        messages.success(request, _("The meeting was cancelled; everyone invited is told."))
    return redirect(meeting)


def meeting_comment(request, pk):
    """Comment on the meeting. htmx gets the comments section back; a plain POST
    redirects to it."""
    user = request.user
    meeting = selectors.meeting_for_action(user, pk)
    if refused := _only(request, ("POST",)):
        return refused
    if not permissions.can_comment(user, meeting):
        raise PermissionDenied(_("You cannot comment on this meeting."))
    form = CommentForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            services.meeting_comment(meeting=meeting, by=user, body=form.cleaned_data["body"])
        except ValidationError as exc:
            form.add_service_error(exc)
        except ServiceError as exc:
            error = errors.message(exc)
        else:
            notice = _("Your comment was posted.")
            if request.htmx:
                page = selectors.meeting_with_comments(user, pk)
                context = _comments_context(user, page, notice=notice)
                return render(request, COMMENTS_TEMPLATE, context)
            messages.success(request, notice)
            return redirect(meeting.get_absolute_url() + "#comments")
    if request.htmx:
        page = selectors.meeting_with_comments(user, pk)
        return render(
            request, COMMENTS_TEMPLATE, _comments_context(user, page, form=form, error=error)
        )
    if error:
        messages.error(request, error)
    else:
        messages.error(request, _("Please correct the errors below."))
    return _render_meeting(request, pk, comment=form)


def meeting_next(request, pk):
    """Schedule the next meeting from the filed minutes' next time and focus."""
    user = request.user
    meeting = selectors.meeting_for_action(user, pk)
    if refused := _only(request, ("POST",)):
        return refused
    try:
        following = services.meeting_schedule_next(
            meeting=meeting,
            by=user,
            short_notice_reason=request.POST.get("short_notice_reason", ""),
        )
    except (ValidationError, ServiceError) as exc:
        errors.flash(request, exc)
        return redirect(meeting)
    messages.success(
        request, _("The next meeting is scheduled; the invitations are sent. Check its plan.")
    )
    return redirect(following)


def problem_status(request, pk, problem_pk):
    """Move a filed problem on (進行中 / 已解決 / 需升級) with a note. htmx gets the
    problems card back."""
    user = request.user
    meeting = selectors.meeting_for_action(user, pk)
    problem = selectors.problem_of(meeting, problem_pk)
    if refused := _only(request, ("POST",)):
        return refused
    form = ProblemStatusForm(request.POST, problem=problem)
    error = ""
    if form.is_valid():
        try:
            services.problem_set_status(problem=problem, by=user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_service_error(exc)
        except ServiceError as exc:
            error = errors.message(exc)
            # Show the status as it now is, keeping what was typed, so that a second
            # submit is made knowing the other change.
            form = ProblemStatusForm(
                problem=selectors.problem_of(meeting, problem_pk),
                initial={"status": form.cleaned_data["status"], "note": form.cleaned_data["note"]},
            )
        else:
            notice = _("The problem's status was changed.")
            if request.htmx:
                return render(
                    request, PROBLEMS_TEMPLATE, _problems_context(user, meeting, notice=notice)
                )
            messages.success(request, notice)
            return redirect(meeting.get_absolute_url() + "#problems")
    if request.htmx:
        return render(
            request,
            PROBLEMS_TEMPLATE,
            _problems_context(user, meeting, bound=(problem.pk, form), error=error),
        )
    if error:
        messages.error(request, error)
        return redirect(meeting.get_absolute_url() + "#problems")
    messages.error(request, _("Please correct the errors below."))
    return _render_meeting(request, pk, problem=(problem.pk, form))


# --- minutes ------------------------------------------------------------------------------


def _editor(meeting: Meeting, draft, data=None) -> MinutesEditor:
    minutes = selectors.draft_for_editor(draft)
    request_obj = meeting.request
    tasks = None
    if meeting.kind == MeetingKind.KICKOFF and request_obj is not None:
        tasks = selectors.breakdown_tasks(request_obj) or None
    return MinutesEditor(
        minutes=minutes,
        problems=selectors.editor_problems(meeting),
        actions=selectors.editor_drafts(meeting),
        people=selectors.active_people(),
        departments=selectors.departments(),
        tasks=tasks,
        data=data,
    )


def _save_minutes(request, editor: MinutesEditor, draft):
    """Save the draft as typed and return it saved; on a refusal show it, return None."""
    if not editor.is_valid():
        messages.error(request, _("Please correct the errors below."))
        return None
    try:
        return services.minutes_save(minutes=draft, by=request.user, **editor.arguments())
    except ValidationError as exc:
        editor.add_service_error(exc)
        messages.error(request, _("Please correct the errors below."))
    except ServiceError as exc:
        errors.flash(request, exc)
    return None


def _file_minutes(request, draft, expected_revision: str | None = None) -> bool:
    """File the saved draft (refused if saved by someone else since `expected_revision`);
    on a refusal say why (in the messages) and return False."""
    try:
        services.minutes_file(minutes=draft, by=request.user, expected_revision=expected_revision)
    except ValidationError as exc:
        messages.warning(request, _("The draft is saved, but it cannot be filed yet:"))
        errors.flash(request, exc)
        return False
    except ServiceError as exc:
        errors.flash(request, exc)
        return False
    messages.success(request, _("The minutes are filed and sent to everyone concerned."))
    return True


def minutes_edit(request, pk):
    """The minutes editor (溝通記錄表): the draft from the agenda, saved as a draft or
    filed. Filed minutes change only through a correction (a new version)."""
    user = request.user
    meeting = selectors.meeting_for_action(user, pk)
    if refused := _only(request, ("GET", "HEAD", "POST")):
        return refused
    if refused := _editor_or_refuse(
        request,
        meeting,
        permissions.can_write_minutes(user, meeting),
        _("This meeting takes no more minutes."),
    ):
        return refused
    if request.method != "POST" and not meeting.minutes.exists():
        # Opening the editor starts nothing: the draft is made by the POST of "Write the
        # minutes" (the field `start`), so that a look leaves no "draft started" behind.
        return render(
            request,
            "meetings_app/minutes_start.html",
            {"meeting": meeting, "request_obj": meeting.request},
        )
    try:
        draft = services.minutes_draft(meeting=meeting, by=user)
    except ServiceError as exc:
        errors.flash(request, exc)
        return redirect(meeting)
    if "start" in request.POST:
        return redirect("meetings_app:minutes", pk=meeting.pk)
    editor = _editor(meeting, draft, data=request.POST if request.method == "POST" else None)
    if request.method == "POST" and (saved := _save_minutes(request, editor, draft)):
        if "file" not in request.POST:
            messages.success(request, _("The draft of the minutes was saved."))
        # Filed as just saved: another save in between is refused, not filed unseen.
        elif _file_minutes(request, saved, services.revision(saved)):
            return redirect(meeting)
        # Saved: show the draft as it now is (a refusal to file is in the messages).
        return redirect("meetings_app:minutes", pk=meeting.pk)
    return render(
        request,
        "meetings_app/minutes_edit.html",
        {
            "meeting": meeting,
            "request_obj": meeting.request,
            "draft": draft,
            "editor": editor,
            "filed_actions": _mark(selectors.editor_filed_actions(meeting)),
        },
    )


def minutes_file(request, pk):
    """File the open draft as it was last saved."""
    user = request.user
    meeting = selectors.meeting_for_action(user, pk)
    if refused := _only(request, ("POST",)):
        return refused
    draft = selectors.open_draft(meeting)
    if draft is None:
        messages.error(request, _("There is no draft of the minutes to file."))
        return redirect(meeting)
    # The revision of the draft the page showed (None from a page that showed none).
    if _file_minutes(request, draft, request.POST.get("revision") or None):
        return redirect(meeting)
    return redirect("meetings_app:minutes", pk=meeting.pk)


def minutes_correct(request, pk):
    """Start a correction of the filed minutes: a new version, the old one kept."""
    user = request.user
    meeting = selectors.meeting_for_action(user, pk)
    if refused := _only(request, ("POST",)):
        return refused
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say what the correction corrects."))
        return _render_meeting(request, pk, correct=form)
    try:
        services.minutes_correct(meeting=meeting, by=user, reason=form.cleaned_data["reason"])
    except ValidationError as exc:
        form.add_service_error(exc)
        errors.flash(request, exc)
        return _render_meeting(request, pk, correct=form)
    except ServiceError as exc:
        errors.flash(request, exc)
        return redirect(meeting)
    messages.success(request, _("A correction was started: edit it, then file it."))
    return redirect("meetings_app:minutes", pk=meeting.pk)


# --- action items -----------------------------------------------------------------------


@dataclass(frozen=True)
class Act:
    """One act on an action item: its form, who may see the form, the service call."""

    form: type[ActionForm]
    allowed: Callable
    call: Callable
    success: str


ACTS = {
    "start": Act(
        NoInputForm,
        lambda user, a: a.state == ActionState.TODO and permissions.can_work_on(user, a),
        lambda a, user, data, request: services.action_start(
            action=a, by=user, expected_state=_expected_state(request, ActionState.values)
        ),
        gettext_lazy("Work on the action item has started."),
    ),
    "progress": Act(
        ActionProgressForm,
        permissions.can_work_on,
        lambda a, user, data, request: services.action_progress(action=a, by=user, **data),
        gettext_lazy("Progress saved."),
    ),
    "submit": Act(
        ActionSubmitForm,
        permissions.can_work_on,
        lambda a, user, data, request: services.action_submit(action=a, by=user, **data),
        gettext_lazy("The deliverable was submitted for the closure confirmation."),
    ),
    "accept": Act(
        ActionAcceptForm,
        permissions.can_confirm,
        lambda a, user, data, request: services.action_accept(action=a, by=user, **data),
        gettext_lazy("Closure confirmed: the action item is resolved."),
    ),
    "send_back": Act(
        ActionReasonForm,
        permissions.can_confirm,
        lambda a, user, data, request: services.action_send_back(action=a, by=user, **data),
        gettext_lazy("The action item was sent back to its owner."),
    ),
    "escalate": Act(
        ActionReasonForm,
        permissions.can_escalate,
        lambda a, user, data, request: services.action_escalate(action=a, by=user, **data),
        gettext_lazy("The action item is marked for escalation."),
    ),
    "convert": Act(
        NoInputForm,
        permissions.can_convert,
        lambda a, user, data, request: services.action_convert(action=a, by=user),
        gettext_lazy("The action item became a task of the request's breakdown."),
    ),
    "cancel": Act(
        ActionReasonForm,
        permissions.can_cancel_action,
        lambda a, user, data, request: services.action_cancel(action=a, by=user, **data),
        gettext_lazy("The action item was cancelled."),
    ),
}


def _render_action(request, pk, *, bound: dict | None = None):
    """Render the action item page; `bound` holds the form to show again as typed."""
    user = request.user
    action = selectors.action_for_page(user, pk)
    _mark([action])
    bound = bound or {}
    shown = {name: act.allowed(user, action) for name, act in ACTS.items()}
    forms = {
        name: bound.get(name) or act.form(auto_id=f"id_{name}_%s") for name, act in ACTS.items()
    }
    unsent = []
    for name, form in bound.items():
        if not shown.get(name):  # the act is gone (the item moved on): keep the typed text
            unsent += form.typed_text()
    context = {
        "action": action,
        "meeting": action.meeting,
        "request_obj": action.meeting.request,
        "shown": shown,
        "has_actions": any(shown.values()),
        "forms": forms,
        "open_form": next(iter(bound), ""),
        "unsent": unsent,
        "updates": list(action.updates.all()),
        "deliveries": list(action.deliveries.all()),
        "events": selectors.action_events(action),
        **request_file_views.upload_rules(),
    }
    return render(request, "meetings_app/action.html", context)


@cache_control(private=True, no_store=True)
def action_detail(request, pk):
    """Show an action item: what, who, by when, its progress, deliveries and history,
    with the forms of the acts the user may do. ?download=<delivery> sends a delivered
    file."""
    user = request.user
    if request.method not in READ:
        selectors.action_for_act(user, pk)
        return HttpResponseNotAllowed(READ)
    if "download" in request.GET:
        action = selectors.action_for_act(user, pk)
        delivery = selectors.action_delivery(action, request.GET["download"])
        delivery.content_type = uploads.CONTENT_TYPES.get(
            uploads.file_extension(delivery.original_name), ""
        )
        return uploads.download_response(delivery)
    return _render_action(request, pk)


def action_act(request, pk, name):
    """Do one act on an action item, by name (start, progress, submit, accept,
    send_back, escalate, convert, cancel), and come back to its page."""
    user = request.user
    action = selectors.action_for_act(user, pk)
    act = ACTS.get(name)
    if act is None:
        raise Http404
    if refused := _only(request, ("POST",)):
        return refused
    form = act.form(request.POST, request.FILES, auto_id=f"id_{name}_%s")
    shown = _expected_state(request, ActionState.values)
    if name != "start" and shown is not None and shown != action.state:
        messages.error(
            request,
            _(
                "Someone else acted on this action item first: it is now “%(state)s”. "
                "Reload the page to see the change."
            )
            % {"state": action.get_state_display()},
        )
        return _render_action(request, pk, bound={name: form})
    if not form.is_valid():
        messages.error(request, _("Please correct the errors below."))
        return _render_action(request, pk, bound={name: form})
    try:
        result = act.call(action, user, form.cleaned_data, request)
    except ValidationError as exc:
        form.add_service_error(exc)
        messages.error(request, _("Please correct the errors below."))
        return _render_action(request, pk, bound={name: form})
    except ServiceError as exc:
        errors.flash(request, exc)
        return _render_action(request, pk, bound={name: form})
    messages.success(request, str(act.success))
    if name == "convert":
        return redirect(result)
    return redirect(action)


# --- weekly series ----------------------------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
def series_create(request):
    """Start a weekly series (週例會): its meetings of the next weeks are created."""
    user = request.user
    target = _request_param(request)
    if not permissions.can_schedule(user, target):
        if target is not None:
            raise PermissionDenied(_("Only people who take part in the request call its meetings."))
        return _choose_request(request, series=True)
    people, departments = selectors.active_people(), selectors.departments()
    if request.method == "POST":
        form = SeriesForm(request.POST, people=people, departments=departments)
        if form.is_valid():
            try:
                series = services.series_create(by=user, request=target, **form.service_arguments())
            except ValidationError as exc:
                form.add_service_error(exc)
            except ServiceError as exc:
                errors.flash(request, exc)
            else:
                messages.success(
                    request, _("The weekly series is set up; its meetings are scheduled.")
                )
                return redirect(series)
        if form.errors:
            messages.error(request, _("Please correct the errors below."))
    else:
        initial = MeetingPlanForm.initial_new(
            user=user,
            day=timezone.localdate(),
            request=target,
            departments=services.request_departments(target) if target is not None else (),
        )
        initial.pop("date")
        initial.pop("start_time")
        initial.pop("end_time")
        initial.pop("kind")
        initial["first_date"] = add_working_days(timezone.localdate(), 2)
        form = SeriesForm(initial=initial, people=people, departments=departments)
    return render(request, "meetings_app/series_form.html", {"form": form, "request_obj": target})


def series_detail(request, pk):
    """Show a weekly series: its plan, its meetings (upcoming and past) and its .ics."""
    user = request.user
    series = selectors.series_for_page(user, pk)
    if refused := _only(request, READ):
        return refused
    return _render_series(request, series)


def _render_series(request, series, *, stop_form=None):
    """Render the series page; `stop_form` is the "Stop the series" form as typed."""
    user = request.user
    now = timezone.now()
    meetings = list(selectors.series_meetings(user, series))
    return render(
        request,
        "meetings_app/series.html",
        {
            "series": series,
            "request_obj": series.request,
            "upcoming": [m for m in meetings if m.ends_at >= now],
            "past": [m for m in reversed(meetings) if m.ends_at < now],
            "weekday": WEEKDAYS[series.weekday],
            "now": now,
            "can_stop": permissions.can_stop_series(user, series),
            "stop_form": stop_form or ReasonForm(),
            "open_form": "stop" if stop_form is not None else "",
        },
    )


def series_stop(request, pk):
    """Stop a weekly series, with a reason: it makes no more meetings, and those to come
    are cancelled (everyone invited gets the calendar's CANCEL)."""
    user = request.user
    series = selectors.series_for_page(user, pk)
    if refused := _only(request, ("POST",)):
        return refused
    if not permissions.is_series_editor(user, series):
        raise PermissionDenied(_("Only the organiser, the recorder or the PMO stop a series."))
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say why the series stops."))
        return _render_series(request, series, stop_form=form)
    try:
        services.series_stop(series=series, by=user, reason=form.cleaned_data["reason"])
    except ValidationError as exc:
        form.add_service_error(exc)
        errors.flash(request, exc)
        return _render_series(request, series, stop_form=form)
    except ServiceError as exc:
        errors.flash(request, exc)
    else:
        messages.success(
            request,
            _("The series is stopped; its coming meetings are cancelled and everyone is told."),
        )
    return redirect(series)
