"""Forms of the breakdown pages. They parse and validate input; services.task_save decides.

The task form checks what a form can see (exactly one R and one A were chosen, dates and
numbers parse); the service checks the rest (R's department, the departments, cycles)
and its ValidationError is shown next to the fields it names.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from collab.choices import Role
from collab.formats import join_list
from collab.forms import BootstrapMixin, date_field, time_field
from collab.models import Department, User
from requests_app.choices import Priority
from requests_app.models import CollabRequest

from . import selectors
from .models import DEFAULT_DUE_TIME, Task
from .services import due_at

MAX_BUFFER_DAYS = 30


def _label(model_field: str):
    return Task._meta.get_field(model_field).verbose_name


def _person_label(user: User, *, head: bool = False) -> str:
    parts = [str(user)]
    if user.title:
        parts.append(user.title)
    text = " · ".join(parts)
    return f"{text} ({_('head')})" if head else text


# --- who may hold a RACI role --------------------------------------------------------


def request_departments(request: CollabRequest) -> list[Department]:
    """Return the request's collaborating departments, the lead first."""
    links = request.department_links.select_related("department").order_by(
        "-is_lead", "department__code"
    )
    return [link.department for link in links]


def responsible_candidates(request: CollabRequest) -> QuerySet[User]:
    """Return the active people of the request's departments and their heads (R)."""
    departments = request.department_links.values("department")
    return (
        User.objects.filter(is_active=True)
        .filter(Q(department__in=departments) | Q(headed_departments__in=departments))
        .distinct()
        .select_related("department")
        .order_by("full_name", "username")
    )


def raci_candidates(request: CollabRequest, task: Task | None = None) -> QuerySet[User]:
    """Return the active people who can see the request: its departments' people and
    heads, the initiating department, the initiator, the PMO, and who holds a role now.
    """
    departments = list(request.department_links.values_list("department_id", flat=True))
    departments.append(request.initiating_department_id)
    who = (
        Q(department__in=departments)
        | Q(headed_departments__in=departments)
        | Q(pk=request.initiator_id)
        | Q(role__in=[Role.PMO, Role.EXECUTIVE])
    )
    if task is not None and task.pk:
        who |= Q(task_assignments__task=task)
    return (
        User.objects.filter(is_active=True)
        .filter(who)
        .distinct()
        .select_related("department")
        .order_by("department__code", "full_name", "username")
    )


# --- fields --------------------------------------------------------------------------


class ExactlyOneSelect(forms.Select):
    """A select that reports every value posted, so that two R's are refused, not merged."""

    def value_from_datadict(self, data, files, name):
        if hasattr(data, "getlist"):
            values = data.getlist(name)
            if len(values) > 1:
                return values
        return super().value_from_datadict(data, files, name)


class PersonChoiceField(forms.ModelChoiceField):
    """Exactly one person; a second value posted for the same role is an error."""

    widget = ExactlyOneSelect

    def __init__(self, *args, one_message, **kwargs):
        self.one_message = one_message
        super().__init__(*args, **kwargs)
        self.error_messages["required"] = one_message

    def to_python(self, value):
        if isinstance(value, list | tuple):
            raise ValidationError(self.one_message, code="exactly_one")
        return super().to_python(value)

    def label_from_instance(self, obj):
        return _person_label(obj)


class PeopleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return _person_label(obj)


class DepartmentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.name


class DepartmentsChoiceField(forms.ModelMultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def label_from_instance(self, obj):
        return obj.name


class TaskChoiceField(forms.ModelMultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def label_from_instance(self, obj):
        return f"{obj.number} {obj.name}"


def _grouped_by_department(users, departments) -> list:
    """Return select choices of `users` grouped under the departments they belong to or head.

    Everyone appears once: under the first department they head, else their own.
    """
    groups: dict[int, list] = {d.pk: [] for d in departments}
    placed: set[int] = set()
    for department in departments:
        for user in users:
            if user.pk not in placed and department.pk in user.headed_ids:
                groups[department.pk].append((user.pk, _person_label(user, head=True)))
                placed.add(user.pk)
    others: list = []
    for user in users:
        if user.pk in placed:
            continue
        if user.department_id in groups:
            groups[user.department_id].append((user.pk, _person_label(user)))
        else:
            others.append((user.pk, _person_label(user)))
    choices: list = [("", "---------")]
    choices += [(d.name, groups[d.pk]) for d in departments if groups[d.pk]]
    if others:
        choices.append((_("Others"), others))
    return choices


def _grouped_by_own_department(users) -> list:
    groups: dict[str, list] = {}
    for user in users:
        name = user.department.name if user.department_id else str(_("No department"))
        groups.setdefault(name, []).append((user.pk, _person_label(user)))
    return list(groups.items())


# --- the task form -------------------------------------------------------------------


class TaskForm(BootstrapMixin, forms.Form):
    """One line of the 任務分工表 with its RACI, for services.task_save."""

    # The service names some fields differently from the form.
    service_fields = {"due_at": "due_date", "R": "responsible", "A": "accountable"}

    name = forms.CharField(label=_label("name"), max_length=120)
    description = forms.CharField(
        label=_label("description"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    responsible_department = DepartmentChoiceField(
        label=_label("responsible_department"), queryset=Department.objects.none()
    )
    supporting_departments = DepartmentsChoiceField(
        label=_label("supporting_departments"),
        queryset=Department.objects.none(),
        required=False,
        help_text=_("Departments that help or provide resources."),
    )
    start_date = date_field(_label("start_date"))
    due_date = date_field(_("due date"))
    due_time = time_field(
        label=_("due time"),
        initial=DEFAULT_DUE_TIME,
        help_text=_("17:00 unless the task needs another time."),
    )
    deliverable = forms.CharField(
        label=_label("deliverable"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("What is handed over, e.g. a report, a plan or a working feature."),
    )
    acceptance_criteria = forms.CharField(
        label=_label("acceptance_criteria"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("How the delivery is judged, e.g. “covers 100 valid user needs”."),
    )
    importance = forms.ChoiceField(label=_label("importance"), choices=Priority.choices)
    buffer_days = forms.IntegerField(
        label=_label("buffer_days"),
        min_value=0,
        max_value=MAX_BUFFER_DAYS,
        initial=0,
        help_text=_(
            "Spare days kept for the unexpected: 3–5 days for a task, and 1–2 days "
            "between tasks that wait on each other."
        ),
    )
    depends_on = TaskChoiceField(
        label=_label("depends_on"),
        queryset=Task.objects.none(),
        required=False,
        help_text=_("The tasks that must be done before this one can start."),
    )
    responsible = PersonChoiceField(
        label=_("Responsible (R)"),
        queryset=User.objects.none(),
        one_message=_("Choose exactly one Responsible person."),
        help_text=_(
            "Exactly one person does the work and answers for it: someone of the "
            "responsible or a supporting department, or their head."
        ),
    )
    accountable = PersonChoiceField(
        label=_("Accountable (A)"),
        queryset=User.objects.none(),
        one_message=_("Choose exactly one Accountable person."),
        help_text=_("Exactly one person approves the result and may move the due date."),
    )
    consulted = PeopleChoiceField(
        label=_("Consulted (C)"),
        queryset=User.objects.none(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
        help_text=_("Asked for advice before decisions; choose as many as needed."),
    )
    informed = PeopleChoiceField(
        label=_("Informed (I)"),
        queryset=User.objects.none(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
        help_text=_("Kept up to date; choose as many as needed."),
    )

    def __init__(self, *args, request_obj: CollabRequest, task: Task | None = None, **kwargs):
        self.request_obj, self.task = request_obj, task
        if task is not None and "initial" not in kwargs:
            kwargs["initial"] = self.initial_for(task)
        super().__init__(*args, **kwargs)
        departments = list(request_departments(request_obj))
        department_ids = [d.pk for d in departments]
        department_qs = Department.objects.filter(pk__in=department_ids).order_by("code")
        self.fields["responsible_department"].queryset = department_qs
        self.fields["responsible_department"].choices = [("", "---------")] + [
            (d.pk, d.name) for d in departments
        ]
        self.fields["supporting_departments"].queryset = department_qs
        self.fields["supporting_departments"].choices = [(d.pk, d.name) for d in departments]
        others = request_obj.tasks.order_by("sequence")
        if task is not None:
            others = others.exclude(pk=task.pk)
        self.fields["depends_on"].queryset = others

        responsible = list(responsible_candidates(request_obj))
        headed = self._headed_ids(responsible, department_ids)
        for user in responsible:
            user.headed_ids = headed.get(user.pk, set())
        self.fields["responsible"].queryset = responsible_candidates(request_obj)
        self.fields["responsible"].choices = _grouped_by_department(responsible, departments)

        people = list(raci_candidates(request_obj, task))
        people_qs = raci_candidates(request_obj, task)
        grouped = _grouped_by_own_department(people)
        for name in ("accountable", "consulted", "informed"):
            self.fields[name].queryset = people_qs
        self.fields["accountable"].choices = [("", "---------"), *grouped]
        self.fields["consulted"].choices = grouped
        self.fields["informed"].choices = grouped
        for name in ("supporting_departments", "depends_on"):
            # Each checkbox of the list is an input of its own.
            self.fields[name].widget.attrs["class"] = "form-check-input"

    @staticmethod
    def _headed_ids(users, department_ids) -> dict[int, set[int]]:
        through = Department.heads.through.objects.filter(
            user__in=[u.pk for u in users], department__in=department_ids
        )
        headed: dict[int, set[int]] = {}
        for user_id, department_id in through.values_list("user_id", "department_id"):
            headed.setdefault(user_id, set()).add(department_id)
        return headed

    @staticmethod
    def initial_for(task: Task) -> dict:
        """Return the form's initial values from a saved task and its RACI."""
        raci = selectors.raci_of(task)
        local_due = timezone.localtime(task.due_at)
        return {
            "name": task.name,
            "description": task.description,
            "responsible_department": task.responsible_department_id,
            "supporting_departments": [d.pk for d in task.supporting_departments.all()],
            "start_date": task.start_date,
            "due_date": local_due.date(),
            "due_time": local_due.time().replace(second=0, microsecond=0),
            "deliverable": task.deliverable,
            "acceptance_criteria": task.acceptance_criteria,
            "importance": task.importance,
            "buffer_days": task.buffer_days,
            "depends_on": [t.pk for t in task.depends_on.all()],
            "responsible": raci["R"][0].pk if raci["R"] else None,
            "accountable": raci["A"][0].pk if raci["A"] else None,
            "consulted": [u.pk for u in raci["C"]],
            "informed": [u.pk for u in raci["I"]],
        }

    def clean(self):
        cleaned = super().clean()
        responsible_department = cleaned.get("responsible_department")
        if responsible_department in (cleaned.get("supporting_departments") or []):
            self.add_error(
                "supporting_departments",
                _("%(department)s is already the responsible department.")
                % {"department": responsible_department},
            )
        holders = {cleaned.get("responsible"), cleaned.get("accountable")} - {None}
        for name in ("consulted", "informed"):
            doubled = [u for u in cleaned.get(name) or [] if u in holders]
            if doubled:
                self.add_error(
                    name,
                    _("%(people)s already hold R or A on this task.")
                    % {"people": join_list(str(u) for u in doubled)},
                )
        return cleaned

    def service_arguments(self) -> dict:
        """Return the keyword arguments of services.task_save from the cleaned data."""
        data = self.cleaned_data
        return {
            "data": {
                "name": data["name"],
                "description": data["description"],
                "responsible_department": data["responsible_department"],
                "start_date": data["start_date"],
                "due_at": due_at(data["due_date"], data["due_time"]),
                "deliverable": data["deliverable"],
                "acceptance_criteria": data["acceptance_criteria"],
                "importance": data["importance"],
                "buffer_days": data["buffer_days"],
            },
            "raci": {
                "R": data["responsible"],
                "A": data["accountable"],
                "C": list(data["consulted"]),
                "I": list(data["informed"]),
            },
            "supporting": list(data["supporting_departments"]),
            "depends_on": list(data["depends_on"]),
        }
