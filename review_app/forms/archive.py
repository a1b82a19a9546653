"""Forms: Archive 歸檔 and the knowledge base 知識庫. They parse input; the services decide."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from collab.forms import BootstrapMixin
from requests_app.models import CollabRequest


class ArchiveForm(BootstrapMixin, forms.Form):
    """The PMO's archiving: whether the case is confidential (pre-set to its current value)."""

    confidential = forms.BooleanField(
        label=_("Confidential"),
        required=False,
        help_text=CollabRequest._meta.get_field("is_confidential").help_text,
    )


class KnowledgeFilterForm(BootstrapMixin, forms.Form):
    """The knowledge base's search box and filters; a bad value filters nothing."""

    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=100,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": _("Name, background, goals, retrospective…")}
        ),
    )
    department = forms.TypedChoiceField(
        label=_("Department"), required=False, coerce=int, empty_value=None
    )
    year = forms.TypedChoiceField(
        label=_("Completed in"), required=False, coerce=int, empty_value=None
    )

    def __init__(self, *args, departments=(), years=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].choices = [
            ("", _("All departments")),
            *((d.pk, d.name) for d in departments),
        ]
        self.fields["year"].choices = [("", _("All years")), *((y, str(y)) for y in years)]

    def values(self) -> dict:
        """Return the valid filters; a hand-typed bad value drops only that filter."""
        self.is_valid()
        cleaned = self.cleaned_data
        return {
            "q": (cleaned.get("q") or "").strip(),
            "department": cleaned.get("department"),
            "year": cleaned.get("year"),
        }
