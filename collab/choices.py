from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    """Portal-wide roles. Department head is not here: it comes from Department.heads."""

    STAFF = "staff", _("Department staff")
    PMO = "pmo", _("PMO")
    EXECUTIVE = "executive", _("Executive (deputy general manager)")
    ADMIN = "admin", _("Platform administrator")
