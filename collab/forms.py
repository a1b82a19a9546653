"""Forms of the organisation pages. They parse input; the services decide."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .models import Delegation, Department, User


class BootstrapMixin:
    """Give widgets Bootstrap classes on the server, so rows added by formsets.js match."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select"
            elif isinstance(widget, forms.HiddenInput):
                continue
            else:
                css = "form-control"
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()

    # A service's error key → the form's field that shows it, where the names differ.
    service_fields: dict[str, str] = {}

    def add_service_error(self, error: ValidationError) -> None:
        """Show a service's ValidationError next to the fields it names (through
        `service_fields`), or above the form."""
        if hasattr(error, "error_dict"):
            for key, messages in error.message_dict.items():
                name = self.service_fields.get(key, key)
                self.add_error(name if name in self.fields else None, messages)
        else:
            self.add_error(None, error.messages)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input (Django's documented pattern)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data]
        return [single(data, initial)] if data else []


def date_field(label, **kwargs) -> forms.DateField:
    """A day picked with the browser's date input (which sends and shows ISO dates)."""
    return forms.DateField(
        label=label,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        **kwargs,
    )


def time_field(label, **kwargs) -> forms.TimeField:
    """A time of day picked with the browser's time input (HH:MM)."""
    return forms.TimeField(
        label=label, widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"), **kwargs
    )


def text_field(
    label, *, required: bool = True, rows: int = 3, max_length: int = 4000, **attrs
) -> forms.CharField:
    """A free text (a note, a reason) in a textarea of `rows` rows, stripped; `attrs`
    are the textarea's other attributes."""
    return forms.CharField(
        label=label,
        required=required,
        max_length=max_length,
        strip=True,
        widget=forms.Textarea(attrs={"rows": rows, **attrs}),
    )


def _label(name: str):
    return Delegation._meta.get_field(name).verbose_name


class PersonChoiceField(forms.ModelChoiceField):
    """A person, with their department so that two people of one name can be told apart."""

    def label_from_instance(self, obj):
        return f"{obj} · {obj.department}" if obj.department_id else str(obj)


class DelegationForm(BootstrapMixin, forms.Form):
    """A head names a deputy (代理人); a platform admin also picks the head.

    A head picks among the departments they lead (none: every one of them) and any
    other active person; services.delegation_create checks the rest.
    """

    head = PersonChoiceField(label=_label("head"), queryset=User.objects.none())
    deputy = PersonChoiceField(label=_label("deputy"), queryset=User.objects.none())
    department = forms.ModelChoiceField(
        label=_label("department"), queryset=Department.objects.none(), required=False
    )
    start_date = date_field(_label("start_date"))
    end_date = date_field(
        label=_label("end_date"),
        help_text=_("The deputy acts up to and including this day."),
    )
    reason = forms.CharField(
        label=_label("reason"),
        max_length=Delegation._meta.get_field("reason").max_length,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("Business trip, leave…")}),
    )

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        people = User.objects.filter(is_active=True).select_related("department")
        department = self.fields["department"]
        if user.is_platform_admin:
            self.fields["head"].queryset = people.filter(
                pk__in=Department.heads.through.objects.values("user_id")
            )
            self.fields["deputy"].queryset = people
            department.queryset = Department.objects.filter(is_active=True)
            department.empty_label = _("Every department the head leads")
        else:
            del self.fields["head"]
            self.fields["deputy"].queryset = people.exclude(pk=user.pk)
            department.queryset = user.headed_departments.all()
            department.empty_label = _("Every department you lead")
