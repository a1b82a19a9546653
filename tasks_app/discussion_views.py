"""Talking across departments on a task: comments with @mentions and 協作請求 (asks).

The task page includes templates/tasks_app/_discussion.html with the context of
`discussion_context(request.user, task, request=request)`. The POST views below answer
htmx with that partial alone (no page reload) and a plain POST with a redirect; when a
service refuses (an @mention of someone who cannot see the task, say), htmx shows the
form again with the typed text and the service's message, and a plain POST keeps the
typed text in the session for the page it redirects to.

The reads (which asks, with whom, in a fixed number of queries) are in
tasks_app.selectors; who can see a task, and so may be @mentioned, in
tasks_app.permissions.
"""

from __future__ import annotations

from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.html import escape, format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from collab import errors
from collab import selectors as org
from collab.errors import ServiceError
from collab.forms import BootstrapMixin
from collab.models import User
from collab.paging import paginate

from . import permissions, selectors, services
from .choices import AskStatus
from .models import CollabAsk, Task, TaskComment

DRAFT_KEY = "task_discussion_draft"
INBOX_PAGE_SIZE = 25

# The inbox's tabs; each code is a `box` of selectors.asks_for_inbox.
INBOX_BOXES = {
    "to_me": gettext_lazy("Asked of me"),
    "departments": gettext_lazy("Asked of my departments"),
    "mine": gettext_lazy("Asked by me"),
}


# --- comments rendered with their mentions -------------------------------------------


def comment_html(comment: TaskComment) -> SafeString:
    """Return the comment escaped, each real @mention shown as a badge with the name.

    Only the people recorded as mentioned get a badge; any other @text stays plain text.
    """
    people = {user.username: user for user in comment.mentions.all()}
    body, parts, last = comment.body, [], 0
    for match in services.MENTION.finditer(body):
        person = people.get(match.group(1))
        if person is None:
            continue
        parts.append(escape(body[last : match.start()]))
        parts.append(
            format_html(
                '<span class="badge mention" data-mention="{}" title="@{}">@{}</span>',
                person.username,
                person.username,
                person.get_full_name() or person.username,
            )
        )
        last = match.end()
    parts.append(escape(body[last:]))
    return mark_safe("".join(str(part) for part in parts))  # noqa: S308 - every piece escaped


# --- forms ---------------------------------------------------------------------------


class CommentForm(BootstrapMixin, forms.Form):
    body = forms.CharField(
        label=gettext_lazy("Comment"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, **kwargs):
        # Ids unique on the task page, which has forms of its own.
        kwargs.setdefault("auto_id", "comment-%s")
        super().__init__(*args, **kwargs)


class AskForm(BootstrapMixin, forms.Form):
    """Ask one of the request's departments, or one person who can see the task."""

    to_department = forms.TypedChoiceField(
        label=gettext_lazy("Ask a department"), required=False, coerce=int, empty_value=None
    )
    to_user = forms.TypedChoiceField(
        label=gettext_lazy("or a person"), required=False, coerce=int, empty_value=None
    )
    content = forms.CharField(
        label=gettext_lazy("What do you need?"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    expected_date = forms.DateField(
        label=gettext_lazy("Expected by"), widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, departments, people, **kwargs):
        kwargs.setdefault("auto_id", "ask-%s")
        super().__init__(*args, **kwargs)
        self.departments = {d.pk: d for d in departments}
        self.people = {u.pk: u for u in people}
        blank = [("", "—")]
        self.fields["to_department"].choices = blank + [
            (d.pk, str(d)) for d in self.departments.values()
        ]
        self.fields["to_user"].choices = blank + [
            (u.pk, f"{u} ({u.username}{' · ' + str(u.department) if u.department else ''})")
            for u in self.people.values()
        ]
        self.fields["expected_date"].widget.attrs["min"] = timezone.localdate().isoformat()

    def clean(self):
        data = super().clean()
        if data.get("to_department") and data.get("to_user"):
            self.add_error("to_department", _("Ask either a department or a person, not both."))
        elif (
            "to_department" in data
            and "to_user" in data
            and not (data["to_department"] or data["to_user"])
        ):
            self.add_error("to_department", _("Choose a department or a person to ask."))
        return data

    def addressee(self) -> dict:
        return {
            "to_department": self.departments.get(self.cleaned_data["to_department"]),
            "to_user": self.people.get(self.cleaned_data["to_user"]),
        }


class AnswerForm(BootstrapMixin, forms.Form):
    answer = forms.CharField(
        label=gettext_lazy("Your answer"), max_length=4000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, ask_pk, **kwargs):
        kwargs.setdefault("auto_id", f"ask-{ask_pk}-%s")
        super().__init__(*args, **kwargs)


# --- the partial's context -----------------------------------------------------------


@dataclass
class Discussion:
    """What templates/tasks_app/_discussion.html shows, read in a fixed number of queries."""

    task: Task
    comments: list[TaskComment]
    asks: list[CollabAsk]
    can_comment: bool
    archived: bool
    mentionable: list[dict]
    comment_form: CommentForm | None
    ask_form: AskForm | None
    open_asks: int = 0
    notice: str = ""
    error: str = ""
    today: object = None


def _draft_forms(request, task: Task) -> dict:
    """Pop what a refused plain POST left in the session for this task, as bound data."""
    if request is None or not hasattr(request, "session"):
        return {}
    draft = request.session.get(DRAFT_KEY)
    if not draft or draft.get("task") != task.pk:
        return {}
    del request.session[DRAFT_KEY]
    return draft


def discussion_context(
    user: User,
    task: Task,
    *,
    request=None,
    bound: dict | None = None,
    notice: str = "",
    error: str = "",
) -> dict:
    """Return {"discussion": Discussion} for the task page's comments and asks section.

    `request` lets a plain POST's refused text come back in its form; `bound` (used by
    the views below for htmx) carries bound forms with their errors.
    """
    bound = dict(bound or {})
    draft = _draft_forms(request, task)
    can_comment = permissions.can_comment(user, task)
    comments = selectors.task_comments(task)
    for comment in comments:
        comment.html = comment_html(comment)
    asks = selectors.task_asks(task)
    answerable = selectors.open_asks_answerable(user, task=task)
    answer_forms = {}
    if draft.get("form") == "answer":
        answer_forms[draft.get("ask")] = AnswerForm(draft["data"], ask_pk=draft.get("ask"))
    if "answer" in bound:
        ask_pk, form = bound["answer"]
        answer_forms[ask_pk] = form
    for ask in asks:
        ask.can_answer = ask.pk in answerable
        # As services.ask_close: the person who asked closes an ask that is not closed,
        # while the case is not archived.
        ask.can_close = (
            ask.asked_by_id == user.pk
            and ask.status != AskStatus.CLOSED
            and not task.request.is_archived
        )
        ask.answer_form = answer_forms.get(ask.pk) or (
            AnswerForm(ask_pk=ask.pk) if ask.can_answer else None
        )
    comment_form = ask_form = None
    people: list[User] = []
    if can_comment:
        departments = permissions.request_department_ids(task.request)
        people = list(permissions.users_who_can_see(task, departments=departments))
        comment_form = bound.get("comment") or CommentForm(
            draft["data"] if draft.get("form") == "comment" else None
        )
        ask_form = bound.get("ask") or AskForm(
            draft["data"] if draft.get("form") == "ask" else None,
            departments=selectors.ask_departments(departments),
            people=[p for p in people if p.pk != user.pk],
        )
    return {
        "discussion": Discussion(
            task=task,
            comments=comments,
            asks=asks,
            can_comment=can_comment,
            archived=task.request.is_archived,
            mentionable=[
                {
                    "username": p.username,
                    "name": p.get_full_name(),
                    "department": str(p.department) if p.department else "",
                }
                for p in people
                if p.pk != user.pk
            ],
            comment_form=comment_form,
            ask_form=ask_form,
            open_asks=sum(1 for a in asks if a.status == AskStatus.OPEN),
            notice=notice,
            error=error,
            today=timezone.localdate(),
        )
    }


# --- views ---------------------------------------------------------------------------


def _task(request, pk) -> Task:
    return selectors.task_for_discussion(request.user, pk)


def _discussion_url(task: Task) -> str:
    return task.get_absolute_url() + "#task-discussion"


def _safe_next(request) -> str:
    """Return the page the form came from (the inbox) if it is ours, else ""."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return ""


def _in_place(request) -> bool:
    """htmx from the task page: answer with the section alone, swapped in place."""
    return bool(request.htmx) and not _safe_next(request)


def _back(request, task: Task):
    """Go back where the form was (the inbox) or to the task's discussion."""
    return redirect(_safe_next(request) or _discussion_url(task))


def _partial(request, task: Task, **kwargs) -> HttpResponse:
    context = discussion_context(request.user, task, **kwargs)
    return HttpResponse(render_to_string("tasks_app/_discussion.html", context, request=request))


def _refused(request, task: Task, *, form_name: str, form, error, ask_pk=None):
    """Show a refused form: in place with the typed text and the reasons (htmx), or
    message + redirect, the typed text kept in the session for the task page."""
    if _in_place(request):
        if isinstance(error, ValidationError):
            form.add_service_error(error)
        else:
            form.add_error(None, errors.message(error))
        bound = (ask_pk, form) if form_name == "answer" else form
        return _partial(request, task, bound={form_name: bound})
    errors.flash(request, error)
    if not _safe_next(request):
        request.session[DRAFT_KEY] = {
            "task": task.pk,
            "form": form_name,
            "ask": ask_pk,
            "data": {key: request.POST.get(key, "") for key in form.fields},
        }
    return _back(request, task)


def _conflict(request, task: Task, message: str) -> HttpResponse:
    """Someone acted first (the ask was answered or closed): show the section as it is now."""
    if _in_place(request):
        return _partial(request, task, error=message)
    messages.error(request, message)
    return _back(request, task)


def _done(request, task: Task, message: str) -> HttpResponse:
    if _in_place(request):
        return _partial(request, task, notice=message)
    messages.success(request, message)
    return _back(request, task)


def _form_errors(form: forms.Form) -> ValidationError:
    return ValidationError([e for texts in form.errors.values() for e in texts])


@require_POST
def comment_add(request, pk):
    """Post a comment; each @username mentioned is notified (people who can see the task)."""
    task = _task(request, pk)
    if not permissions.can_comment(request.user, task):
        raise PermissionDenied(_("You cannot comment on this task."))
    form = CommentForm(request.POST)
    if not form.is_valid():
        if request.htmx:
            return _partial(request, task, bound={"comment": form})
        return _refused(request, task, form_name="comment", form=form, error=_form_errors(form))
    try:
        services.comment_add(task=task, by=request.user, body=form.cleaned_data["body"])
    except ValidationError as exc:
        return _refused(request, task, form_name="comment", form=form, error=exc)
    return _done(request, task, _("Your comment was posted."))


def _ask_form(request, task: Task) -> AskForm:
    departments = permissions.request_department_ids(task.request)
    people = permissions.users_who_can_see(task, departments=departments).exclude(
        pk=request.user.pk
    )
    return AskForm(
        request.POST,
        departments=selectors.ask_departments(departments),
        people=list(people),
    )


@require_POST
def ask_create(request, pk):
    """Ask one of the request's departments or a person who can see the task for help."""
    task = _task(request, pk)
    if not permissions.can_comment(request.user, task):
        raise PermissionDenied(_("You cannot ask for help on this task."))
    form = _ask_form(request, task)
    if not form.is_valid():
        if request.htmx:
            return _partial(request, task, bound={"ask": form})
        return _refused(request, task, form_name="ask", form=form, error=_form_errors(form))
    try:
        services.ask_create(
            task=task,
            by=request.user,
            content=form.cleaned_data["content"],
            expected_date=form.cleaned_data["expected_date"],
            **form.addressee(),
        )
    except ValidationError as exc:
        return _refused(request, task, form_name="ask", form=form, error=exc)
    return _done(request, task, _("Your request for help was sent."))


@require_POST
def ask_answer(request, pk, ask_pk):
    """Answer an ask made to me or to my department."""
    task = _task(request, pk)
    ask = selectors.task_ask(task, ask_pk)
    form = AnswerForm(request.POST, ask_pk=ask.pk)
    if ask.status != AskStatus.OPEN:
        # Someone answered first or the asker closed it.
        return _conflict(request, task, _("This request for help is no longer open."))
    if not permissions.can_answer_ask(request.user, ask):
        raise PermissionDenied(_("Only the person or department asked can answer."))
    if not form.is_valid():
        return _refused(
            request, task, form_name="answer", form=form, error=_form_errors(form), ask_pk=ask.pk
        )
    try:
        services.ask_answer(ask=ask, by=request.user, answer=form.cleaned_data["answer"])
    except ValidationError as exc:
        return _refused(request, task, form_name="answer", form=form, error=exc, ask_pk=ask.pk)
    except ServiceError as exc:
        return _conflict(request, task, errors.message(exc))
    return _done(request, task, _("Your answer was sent."))


@require_POST
def ask_close(request, pk, ask_pk):
    """Close an ask I made (answered or no longer needed)."""
    task = _task(request, pk)
    ask = selectors.task_ask(task, ask_pk)
    try:
        services.ask_close(ask=ask, by=request.user)
    except (ServiceError, ValidationError) as exc:  # ValidationError: the case is archived
        return _conflict(request, task, errors.message(exc))
    return _done(request, task, _("The request for help was closed."))


def asks_inbox(request):
    """List the asks made to me, to my departments, or by me, with a status filter."""
    box = request.GET.get("box", "")
    if box not in INBOX_BOXES:
        box = "to_me"
    status = request.GET.get("status", "")
    if status not in AskStatus.values:
        status = ""
    department_ids = org.user_department_ids(request.user)
    asks, counts = selectors.asks_for_inbox(
        user=request.user, box=box, status=status, department_ids=department_ids
    )
    paged = paginate(request, asks, INBOX_PAGE_SIZE)
    rows = list(paged["page"].object_list)
    answerable = set()
    if any(a.status == AskStatus.OPEN for a in rows):
        answerable = selectors.open_asks_answerable(
            request.user, department_ids=department_ids, pk__in=[a.pk for a in rows]
        )
    for ask in rows:
        ask.can_answer = ask.pk in answerable
        ask.can_close = (
            ask.asked_by_id == request.user.pk
            and ask.status != AskStatus.CLOSED
            and not ask.task.request.is_archived
        )
    return render(
        request,
        "tasks_app/asks.html",
        {
            **paged,
            "rows": rows,
            "box": box,
            "status": status,
            "boxes": [
                {"code": code, "label": label, "open": counts[code]}
                for code, label in INBOX_BOXES.items()
            ],
            "statuses": AskStatus.choices,
            "today": timezone.localdate(),
            "here": request.get_full_path(),
        },
    )
