"""The organisation every app shares: departments, people and delegations."""

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import events
from .choices import Role


class Department(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    code = models.SlugField(_("code"), max_length=20, unique=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent department"),
        help_text=_("The next level up in the escalation chain."),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    heads = models.ManyToManyField(
        "collab.User",
        verbose_name=_("heads"),
        blank=True,
        related_name="headed_departments",
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["code"]

    def __str__(self):
        return self.name

    def clean(self):
        # A department may not sit below itself in the escalation chain.
        node, seen = self.parent, set()
        while node is not None and node.pk not in seen:
            if self.pk and node.pk == self.pk:
                raise ValidationError({"parent": _("A department cannot be its own ancestor.")})
            seen.add(node.pk)
            node = node.parent


class User(AbstractUser):
    full_name = models.CharField(_("full name"), max_length=100, blank=True)
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="members",
    )
    title = models.CharField(_("job title"), max_length=100, blank=True)
    contact = models.CharField(
        _("contact"), max_length=100, blank=True, help_text=_("Phone or extension.")
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.STAFF)

    class Meta(AbstractUser.Meta):
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["username"]

    def __str__(self):
        return self.get_full_name() or self.username

    def get_full_name(self):
        return self.full_name or super().get_full_name()

    @property
    def is_pmo(self):
        return self.role == Role.PMO

    @property
    def is_executive(self):
        return self.role == Role.EXECUTIVE

    @property
    def is_platform_admin(self):
        return self.role == Role.ADMIN or self.is_superuser

    @property
    def sees_everything(self):
        """Return True for the roles that see every department's cases."""
        return self.is_superuser or self.role in (Role.PMO, Role.EXECUTIVE, Role.ADMIN)


class Delegation(models.Model):
    """A head names a deputy (代理人) who acts for them from start to end, inclusive."""

    head = models.ForeignKey(
        User,
        verbose_name=_("head"),
        on_delete=models.CASCADE,
        related_name="delegations_given",
    )
    deputy = models.ForeignKey(
        User,
        verbose_name=_("deputy"),
        on_delete=models.CASCADE,
        related_name="delegations_received",
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        help_text=_("Leave empty to cover every department the head leads."),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="delegations",
    )
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"))
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("delegation")
        verbose_name_plural = _("delegations")
        ordering = ["-start_date"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__gte=F("start_date")),
                name="delegation_end_after_start",
                violation_error_message=_("The end date cannot be before the start date."),
            ),
            models.CheckConstraint(
                condition=~Q(head=F("deputy")),
                name="delegation_not_self",
                violation_error_message=_("A head cannot name themselves as deputy."),
            ),
        ]
        indexes = [models.Index(fields=["deputy", "start_date", "end_date"])]

    def __str__(self):
        return _("%(deputy)s for %(head)s, %(start)s–%(end)s") % {
            "deputy": self.deputy,
            "head": self.head,
            "start": self.start_date,
            "end": self.end_date,
        }

    def clean(self):
        if (
            self.head_id
            and self.department_id
            and not self.department.heads.filter(pk=self.head_id).exists()
        ):
            raise ValidationError({"department": _("The head does not lead this department.")})


class NumberSequence(models.Model):
    """The last number handed out for a key such as "XQ202407"; rows are locked to count."""

    key = models.CharField(_("key"), max_length=30, unique=True)
    last = models.PositiveIntegerField(_("last number"), default=0)

    class Meta:
        verbose_name = _("number sequence")
        verbose_name_plural = _("number sequences")

    def __str__(self):
        return f"{self.key}: {self.last}"


class CalendarDay(models.Model):
    """An administrator's correction to the holiday calendar for one date.

    `is_workday` False marks an extra holiday; True marks a make-up workday (補班) on a
    weekend or a day the holidays package would call a holiday.
    """

    date = models.DateField(_("date"), unique=True)
    is_workday = models.BooleanField(
        _("working day"),
        help_text=_("Tick for a make-up workday (補班); leave empty for a holiday."),
    )
    name = models.CharField(_("name"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")
        ordering = ["-date"]

    def __str__(self):
        return f"{self.date} {self.name}".strip()


class Notification(models.Model):
    """An in-app notification; the same event is also e-mailed."""

    recipient = models.ForeignKey(
        User, verbose_name=_("recipient"), on_delete=models.CASCADE, related_name="notifications"
    )
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("body"), blank=True)
    url = models.CharField(_("link"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    emailed_at = models.DateTimeField(_("e-mailed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["recipient", "read_at", "-created_at"])]

    def __str__(self):
        return self.title


class StateLog(models.Model):
    """Base of every app's state history: who, on whose behalf, when, from, to and why."""

    transition = models.CharField(_("action"), max_length=50)
    from_state = models.CharField(_("from"), max_length=30, blank=True)
    to_state = models.CharField(_("to"), max_length=30, blank=True)
    by = models.ForeignKey(
        User, verbose_name=_("by"), on_delete=models.PROTECT, related_name="+", null=True
    )
    on_behalf_of = models.ForeignKey(
        User,
        verbose_name=_("on behalf of"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)
    # Only what a person typed (a reason, a comment, a completion note). What the system
    # says about the row is rendered from `params` when read (collab.events).
    comment = models.TextField(_("comment"), blank=True)
    # The row's values (ids, numbers, ISO dates, names as data; "msg" where one kind has
    # several sentences). The database default lets bulk loaders (seed_scale's COPY)
    # leave the column out.
    params = models.JSONField(_("parameters"), default=dict, blank=True, db_default={})

    class Meta:
        abstract = True
        ordering = ["at", "pk"]

    @classmethod
    def write(cls, *, params: dict | None = None, **fields):
        """Write one line of the history: the one writer of every app's log (each app's
        services keep a named wrapper, e.g. requests_app.services.event_log).

        `fields` are the line's columns and its owner (request=…, task=…). `comment` is
        only what a person typed; what the system says about the line goes in `params`
        and is rendered when read, in the reader's language (collab.events).
        """
        return cls._default_manager.create(params=params or {}, **fields)

    @property
    def system_text(self) -> str:
        """The system's sentence about this row, in the reader's language ("" if none)."""
        return events.describe(self)

    @property
    def text(self) -> str:
        """What the row says: the system's sentence · the person's comment."""
        return events.text(self)


class WarningRule(models.Model):
    """An administrator's settings for one warning rule (DOMAIN §4).

    The rules themselves (what to look for) are registered by the apps in
    collab.warnings; this row holds what the administrator may change: on/off, the
    thresholds and who receives the warning.
    """

    code = models.SlugField(_("code"), max_length=40, unique=True)
    is_active = models.BooleanField(_("active"), default=True)
    days = models.PositiveSmallIntegerField(
        _("working days"), null=True, blank=True, help_text=_("The rule's threshold in days.")
    )
    important_days = models.PositiveSmallIntegerField(
        _("working days for important tasks"), null=True, blank=True
    )
    urgent_days = models.PositiveSmallIntegerField(
        _("working days for urgent tasks"), null=True, blank=True
    )
    hours = models.PositiveSmallIntegerField(_("hours"), null=True, blank=True)
    to_responsible = models.BooleanField(_("to the Responsible person (R)"), default=False)
    to_accountable = models.BooleanField(_("to the Accountable person (A)"), default=False)
    to_head = models.BooleanField(_("to the department head"), default=False)
    to_initiator = models.BooleanField(_("to the initiator"), default=False)
    to_pmo = models.BooleanField(_("to the PMO"), default=False)

    class Meta:
        verbose_name = _("warning rule")
        verbose_name_plural = _("warning rules")
        ordering = ["code"]

    def __str__(self):
        # The rules' store (collab.registry), not collab.warnings, which imports this module.
        from .registry import registry

        spec = registry["warning_rules"].get(self.code)
        return str(spec.label) if spec else self.code


class WarningDigest(models.Model):
    """One person's digest e-mail of one run; collab.outbox sends it once."""

    recipient = models.ForeignKey(
        User, verbose_name=_("recipient"), on_delete=models.CASCADE, related_name="+"
    )
    run = models.UUIDField(_("run"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("warning digest")
        verbose_name_plural = _("warning digests")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["recipient", "run"], name="digest_once_per_run")
        ]

    def __str__(self):
        return f"{self.recipient} {self.created_at:%Y-%m-%d %H:%M}"


class WarningItem(models.Model):
    """One warning to one person about one object under one rule in one period.

    Unique per (rule, object, period, recipient): a second run, or a second beat
    process at the same moment, finds the row already there and sends nothing.
    """

    rule = models.CharField(_("rule"), max_length=40)
    content_type = models.ForeignKey(
        "contenttypes.ContentType",
        verbose_name=_("content type"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    object_id = models.PositiveBigIntegerField(_("object id"))
    period = models.CharField(_("period"), max_length=20)
    recipient = models.ForeignKey(
        User, verbose_name=_("recipient"), on_delete=models.CASCADE, related_name="warnings"
    )
    text = models.TextField(_("text"))
    url = models.CharField(_("link"), max_length=300, blank=True)
    run = models.UUIDField(_("run"), db_index=True)
    digest = models.ForeignKey(
        WarningDigest,
        verbose_name=_("warning digest"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="items",
    )
    notification = models.ForeignKey(
        Notification,
        verbose_name=_("notification"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("warning")
        verbose_name_plural = _("warnings")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "content_type", "object_id", "period", "recipient"],
                name="warning_once_per_period",
            )
        ]

    def __str__(self):
        return self.text[:60]


class OutboxMessage(models.Model):
    """One message that leaves the portal: written in the transaction of the change it
    announces, then delivered by collab.outbox (once, retried for days).

    `kind` names the channel that builds and sends it (registered with
    collab.outbox.register: notification e-mails, warning digests, the monthly report;
    later webhooks and chat robots); `key` is unique per thing sent, so enqueuing the same
    message twice makes one row; `params` is what the channel needs to build it.
    """

    class State(models.TextChoices):
        PENDING = "pending", _("waiting")
        SENT = "sent", _("sent")
        SKIPPED = "skipped", _("nothing to send")
        FAILED = "failed", _("failed")

    kind = models.CharField(_("kind"), max_length=40)
    key = models.CharField(_("key"), max_length=120, unique=True)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    recipient = models.ForeignKey(
        User,
        verbose_name=_("recipient"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    summary = models.CharField(_("summary"), max_length=200, blank=True)
    state = models.CharField(
        _("state"), max_length=10, choices=State.choices, default=State.PENDING
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    claimed_until = models.DateTimeField(_("claimed until"), null=True, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_attempt_at = models.DateTimeField(_("last attempt at"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("outgoing message")
        verbose_name_plural = _("outgoing messages")
        ordering = ["-created_at", "-pk"]
        indexes = [
            # The sweeper's scan: only the waiting rows, by when they are due.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(state="pending"),
                name="outbox_pending_due",
            ),
            models.Index(fields=["state", "created_at"], name="outbox_state_created"),
        ]

    def __str__(self):
        return self.summary or self.key

    @property
    def message_id(self) -> str:
        """The RFC 5322 Message-ID of this row's e-mail: the same on every attempt, so a
        relay that took a message but lost its "250" can drop the repeat."""
        domain = urlsplit(settings.SITE_URL).hostname or "collab.invalid"
        stamp = int(self.created_at.timestamp())
        return f"<collab.{self.kind}.{self.pk}.{stamp}@{domain}>"
