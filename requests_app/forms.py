"""Forms of the request pages. They parse and validate input; the services decide."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# The portal's one Bootstrap form mixin lives in collab; every app imports it from there.
from collab.forms import BootstrapMixin, MultipleFileField, date_field
from collab.models import Department

from .choices import ResourceKind
from .models import CollabRequest, Goal, Milestone, ResourceNeed

MAX_ROWS = 20


class RequestForm(BootstrapMixin, forms.ModelForm):
    """The request's own fields; the rows hanging off it come in the formsets below."""

    class Meta:
        model = CollabRequest
        fields = [
            "name",
            "contact",
            "priority",
            "expected_completion",
            "background",
            "expected_deliverables",
            "data_needs",
            "notes",
            "is_confidential",
        ]
        widgets = {
            "expected_completion": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "background": forms.Textarea(attrs={"rows": 4}),
            "expected_deliverables": forms.Textarea(attrs={"rows": 3}),
            "data_needs": forms.Textarea(attrs={"rows": 3}),
            "notes": forms.Textarea(attrs={"rows": 2}),
        }
        help_texts = {
            "contact": _("Phone or extension; yours is used when left empty."),
        }


class NewRequestForm(RequestForm):
    """A new request's fields and the files its first save attaches (version 1 each);
    later files and versions are added on the request's page."""

    files = MultipleFileField(
        label=_("Attachments"),
        required=False,
        help_text=_(
            "The files are attached when you save the draft or submit; later files and "
            "new versions are added on the request's page."
        ),
    )


class DepartmentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.name


class RowForm(BootstrapMixin, forms.Form):
    """A formset row, laid out as one line of a grid on a laptop, stacked on a phone."""

    columns: dict[str, str] = {}

    def cells(self):
        """Yield (bound field, grid column class) for the row's fields but DELETE."""
        for name, css in self.columns.items():
            yield self[name], css


class DepartmentRowForm(RowForm):
    columns = {"department": "col-12 col-md-7", "is_lead": "col-8 col-md-3 formset-check"}

    department = DepartmentChoiceField(
        label=_("department"), queryset=Department.objects.filter(is_active=True)
    )
    is_lead = forms.BooleanField(
        label=_("lead department"),
        required=False,
        widget=forms.CheckboxInput(attrs={"data-lead-checkbox": ""}),
    )


class GoalRowForm(RowForm):
    columns = {
        "description": "col-12 col-md-4",
        "metric": "col-12 col-md-3",
        "target_value": "col-7 col-md-2",
        "unit": "col-5 col-md-1",
    }

    description = forms.CharField(
        label=Goal._meta.get_field("description").verbose_name,
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. grow monthly active users")}),
    )
    metric = forms.CharField(
        label=Goal._meta.get_field("metric").verbose_name,
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. monthly active users")}),
    )
    target_value = forms.DecimalField(
        label=Goal._meta.get_field("target_value").verbose_name,
        max_digits=14,
        decimal_places=2,
    )
    unit = forms.CharField(
        label=Goal._meta.get_field("unit").verbose_name,
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "%"}),
    )


class MilestoneRowForm(RowForm):
    columns = {"name": "col-12 col-md-7", "date": "col-8 col-md-3"}

    name = forms.CharField(label=Milestone._meta.get_field("name").verbose_name, max_length=100)
    date = date_field(Milestone._meta.get_field("date").verbose_name)


class ResourceRowForm(RowForm):
    columns = {
        "department": "col-12 col-md-3",
        "kind": "col-12 col-md-2",
        "description": "col-12 col-md-5",
    }

    department = DepartmentChoiceField(
        label=_("department"), queryset=Department.objects.filter(is_active=True)
    )
    kind = forms.ChoiceField(
        label=ResourceNeed._meta.get_field("kind").verbose_name,
        choices=ResourceKind.choices,
        initial=ResourceKind.PEOPLE,
    )
    description = forms.CharField(
        label=ResourceNeed._meta.get_field("description").verbose_name, max_length=200
    )


class RowFormSet(forms.BaseFormSet):
    """A formset whose department menus share one query, and which yields its kept rows."""

    title = ""
    add_label = _("Add a row")
    help_text = ""

    def __init__(self, *args, department_choices=None, **kwargs):
        self.department_choices = department_choices
        super().__init__(*args, **kwargs)

    def _construct_form(self, i, **kwargs):
        form = super()._construct_form(i, **kwargs)
        self._share_choices(form)
        return form

    @property
    def empty_form(self):
        form = super().empty_form
        self._share_choices(form)
        return form

    def _share_choices(self, form):
        # Each row's <select> would otherwise run its own query for the same menu.
        if self.department_choices is not None and "department" in form.fields:
            form.fields["department"].choices = self.department_choices
        if "DELETE" in form.fields:
            form.fields["DELETE"].label = _("Remove")
            form.fields["DELETE"].widget.attrs["class"] = "form-check-input"

    def rows(self) -> list[dict]:
        """Return the cleaned rows, without the removed and the empty ones."""
        kept = []
        for form in self.forms:
            data = form.cleaned_data
            if not data or data.get("DELETE"):
                continue
            kept.append({k: v for k, v in data.items() if k != "DELETE"})
        return kept


class DepartmentFormSet(RowFormSet):
    def clean(self):
        if any(self.errors):
            return
        rows = self.rows()
        seen = set()
        for row in rows:
            if row["department"].pk in seen:
                raise ValidationError(_("Each collaborating department can be listed only once."))
            seen.add(row["department"].pk)
        if sum(1 for row in rows if row.get("is_lead")) > 1:
            raise ValidationError(_("Only one department can lead."))


def _formset(form, base=RowFormSet):
    return forms.formset_factory(
        form,
        formset=base,
        extra=0,
        can_delete=True,
        max_num=MAX_ROWS,
        validate_max=True,
    )


FORMSETS = {
    # prefix: (formset class, title, add-button label, help text)
    "departments": (
        _formset(DepartmentRowForm, DepartmentFormSet),
        _("Collaborating departments"),
        _("Add a department"),
        _(
            "Every department listed here, the lead included, reviews the request: its head "
            "(or deputy) agrees or rejects it. List your own department only if it takes part."
        ),
    ),
    "goals": (
        _formset(GoalRowForm),
        _("Measurable goals"),
        _("Add a goal"),
        _("Each goal names a metric and a target, so the retrospective can compare."),
    ),
    "milestones": (
        _formset(MilestoneRowForm),
        _("Key milestones"),
        _("Add a milestone"),
        "",
    ),
    "resources": (
        _formset(ResourceRowForm),
        _("Resource needs"),
        _("Add a resource need"),
        _("People, budget, data or equipment each department should contribute."),
    ),
}


def department_choices() -> list[tuple]:
    """Return the department menu once for every row of every formset on the page."""
    return [("", "---------")] + [
        (d.pk, d.name) for d in Department.objects.filter(is_active=True).only("pk", "name")
    ]


def build_formsets(*, data=None, initial: dict | None = None) -> dict[str, RowFormSet]:
    """Return the page's four formsets, bound to `data` or filled from `initial`."""
    choices = department_choices()
    formsets = {}
    for prefix, (cls, title, add_label, help_text) in FORMSETS.items():
        rows = (initial or {}).get(prefix)
        formset = cls(
            data=data,
            initial=rows,
            prefix=prefix,
            department_choices=choices,
        )
        if data is None and not rows:
            # An unbound page starts with one empty row to fill in.
            formset.extra = 1
        formset.title = title
        formset.add_label = add_label
        formset.help_text = help_text
        formsets[prefix] = formset
    return formsets


def initial_rows(request: CollabRequest) -> dict[str, list[dict]]:
    """Return the rows of a saved request as the formsets' initial data."""
    return {
        "departments": [
            {"department": link.department_id, "is_lead": link.is_lead}
            for link in request.department_links.all()
        ],
        "goals": [
            {
                "description": g.description,
                "metric": g.metric,
                "target_value": g.target_value,
                "unit": g.unit,
            }
            for g in request.goals.all()
        ],
        "milestones": [{"name": m.name, "date": m.date} for m in request.milestones.all()],
        "resources": [
            {"department": r.department_id, "kind": r.kind, "description": r.description}
            for r in request.resource_needs.all()
        ],
    }


class ReviewForm(BootstrapMixin, forms.Form):
    """A head's (or deputy's) answer: 同意 with the tasks the department takes, or 駁回."""

    APPROVE, REJECT = "approve", "reject"

    decision = forms.ChoiceField(
        choices=[(APPROVE, _("Approve")), (REJECT, _("Reject"))], widget=forms.HiddenInput
    )
    committed_tasks = forms.CharField(
        label=_("Tasks your department can take"),
        help_text=_("One task per line; they become draft tasks once the project is approved."),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    comment = forms.CharField(
        label=_("Opinion"),
        help_text=_("Required when you reject: say what must change."),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, review=None, **kwargs):
        self.review = review
        prefix = f"review-{review.pk}" if review is not None else None
        super().__init__(*args, prefix=prefix, **kwargs)
        self.fields["decision"].required = False

    def clean(self):
        data = super().clean()
        if data.get("decision") not in (self.APPROVE, self.REJECT):
            raise ValidationError(_("Choose to approve or to reject."))
        if data["decision"] == self.REJECT and not data.get("comment", "").strip():
            self.add_error("comment", _("Give a reason for the rejection."))
        return data


class FilterForm(forms.Form):
    """The list page's filters; anything unknown falls back to showing everything."""

    SCOPES = [
        ("all", _("All I can see")),
        ("mine", _("Filed by me")),
        ("department", _("My departments")),
    ]

    scope = forms.ChoiceField(choices=SCOPES, required=False)
    state = forms.ChoiceField(required=False)
    q = forms.CharField(required=False, max_length=100)

    def __init__(self, *args, **kwargs):
        from .choices import RequestState

        super().__init__(*args, **kwargs)
        self.fields["state"].choices = [("", _("All states")), *RequestState.choices]

    def values(self) -> dict:
        if not self.is_valid():
            # A hand-typed bad value filters nothing rather than failing the page.
            return {"scope": "all", "state": "", "q": ""}
        return {
            "scope": self.cleaned_data["scope"] or "all",
            "state": self.cleaned_data["state"],
            "q": self.cleaned_data["q"].strip(),
        }
