from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Verdict(models.TextChoices):
    """One reviewer's answer on a submitted deliverable (成果驗收)."""

    PENDING = "pending", pgettext_lazy("acceptance verdict", "Awaiting answer")
    PASSED = "passed", pgettext_lazy("acceptance verdict", "Passed")
    RECTIFY = "rectify", pgettext_lazy("acceptance verdict", "Needs rectification")
    FAILED = "failed", pgettext_lazy("acceptance verdict", "Failed")
    # The round closed (another reviewer's 需整改 / 不通過) before this one answered.
    CLOSED = "closed", pgettext_lazy("acceptance verdict", "Not needed")


class AcceptanceOutcome(models.TextChoices):
    OPEN = "open", pgettext_lazy("acceptance outcome", "Under acceptance")
    PASSED = "passed", pgettext_lazy("acceptance outcome", "Passed")
    RECTIFY = "rectify", pgettext_lazy("acceptance outcome", "Needs rectification")
    FAILED = "failed", pgettext_lazy("acceptance outcome", "Failed")


class Seat(models.TextChoices):
    """Why a reviewer reviews: the task's A, the request's initiator or a department head."""

    ACCOUNTABLE = "accountable", _("Accountable person")
    INITIATOR = "initiator", _("Initiator")
    HEAD = "head", _("Department head")


class FinalOutcome(models.TextChoices):
    OPEN = "open", pgettext_lazy("final acceptance", "Awaiting signatures")
    SIGNED = "signed", pgettext_lazy("final acceptance", "Signed by all")
    RETURNED = "returned", pgettext_lazy("final acceptance", "Returned")


class SignatureDecision(models.TextChoices):
    PENDING = "pending", pgettext_lazy("final signature", "Awaiting signature")
    SIGNED = "signed", pgettext_lazy("final signature", "Signed")
    REFUSED = "refused", pgettext_lazy("final signature", "Refused")


class RetrospectiveState(models.TextChoices):
    DRAFT = "draft", pgettext_lazy("retrospective", "Draft")
    FILED = "filed", pgettext_lazy("retrospective", "Filed")


class FeedbackKind(models.TextChoices):
    PRAISE = "praise", pgettext_lazy("feedback kind", "Praise")
    PROBLEM = "problem", pgettext_lazy("feedback kind", "Problem")
    SUGGESTION = "suggestion", pgettext_lazy("feedback kind", "Suggestion")


class SuggestionState(models.TextChoices):
    SUBMITTED = "submitted", pgettext_lazy("suggestion state", "Submitted")
    EVALUATING = "evaluating", pgettext_lazy("suggestion state", "Evaluating")
    ADOPTED = "adopted", pgettext_lazy("suggestion state", "Adopted")
    REJECTED = "rejected", pgettext_lazy("suggestion state", "Not adopted")
    IMPLEMENTED = "implemented", pgettext_lazy("suggestion state", "Implemented")
