"""The warning engine (DOMAIN §4): rules registered by the apps, scanned by Celery beat.

An app registers a RuleSpec from its AppConfig.ready(): what the rule is called, how
often it runs, its default thresholds and recipients, and a scan function that selects
the objects concerned (by state and deadline, on indexes, in a bounded number of
queries) and says who plays which role for each. The engine here knows no app.

A run:
1. asks every active rule of the cadence (daily or hourly) for its hits;
2. writes one WarningItem per (rule, object, period, recipient) with INSERT ... ON
   CONFLICT DO NOTHING and keeps only the rows this run inserted, so a second run, or
   a second beat process at the same moment, sends nothing twice;
3. makes one in-app notification per item and one WarningDigest per person, and
   after commit hands each digest to Celery, which e-mails it (retried with backoff;
   a digest already sent is never sent again).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import F
from django.template.loader import get_template, render_to_string
from django.utils import timezone, translation

from .models import Notification, User, WarningDigest, WarningItem, WarningRule

DAILY = "daily"
HOURLY = "hourly"
ROLES = ("responsible", "accountable", "head", "initiator", "pmo")


@dataclass
class Hit:
    """One object a rule found, with the people in each role and the text's context."""

    obj: object
    people: dict[str, list[User]]
    context: dict = field(default_factory=dict)
    url: str = ""
    period: str | None = None  # default: the run's day (daily) or hour (hourly)


@dataclass(frozen=True)
class RuleSpec:
    code: str
    label: object  # a lazy translated string
    cadence: str
    scan: Callable[[WarningRule, dt.datetime], Iterable[Hit]]
    defaults: dict = field(default_factory=dict)


_registry: dict[str, RuleSpec] = {}


def register(spec: RuleSpec) -> None:
    _registry[spec.code] = spec


def registry() -> dict[str, RuleSpec]:
    return dict(_registry)


def rules_ensure() -> dict[str, WarningRule]:
    """Create the admin's row of every registered rule with its defaults (once)."""
    existing = {rule.code: rule for rule in WarningRule.objects.all()}
    for code, spec in _registry.items():
        if code not in existing:
            existing[code], _ = WarningRule.objects.get_or_create(code=code, defaults=spec.defaults)
    return existing


def _period(cadence: str, now: dt.datetime) -> str:
    local = timezone.localtime(now)
    return f"{local:%Y-%m-%d}" if cadence == DAILY else f"{local:%Y-%m-%dT%H}"


def _recipients(rule: WarningRule, hit: Hit, pmo: list[User]) -> list[User]:
    wanted = {
        "responsible": rule.to_responsible,
        "accountable": rule.to_accountable,
        "head": rule.to_head,
        "initiator": rule.to_initiator,
        "pmo": rule.to_pmo,
    }
    people = {**hit.people, "pmo": pmo}
    chosen: dict[int, User] = {}
    for role, on in wanted.items():
        if on:
            for user in people.get(role, []):
                if user is not None and user.is_active:
                    chosen[user.pk] = user
    return list(chosen.values())


def _text(template, context: dict) -> str:
    """Render a warning's text on one line (the caller chose the language)."""
    return " ".join(template.render(context).split())


@dataclass
class RunResult:
    run: uuid.UUID
    items: list[WarningItem]
    digests: list[WarningDigest]

    def by_recipient(self) -> dict[User, list[WarningItem]]:
        grouped: dict[User, list[WarningItem]] = defaultdict(list)
        for item in self.items:
            grouped[item.recipient].append(item)
        return dict(grouped)


def collect(*, now: dt.datetime, cadences: Iterable[str]) -> list[WarningItem]:
    """Return the (unsaved) warning rows the active rules find at `now`.

    Per hit only what differs per hit is done: the language, each rule's template,
    period and content type are settled once per rule (`make bench` runs this over
    100k tasks).
    """
    rules = rules_ensure()
    pmo = list(User.objects.filter(role="pmo", is_active=True))
    items: list[WarningItem] = []
    content_types: dict[type, ContentType] = {}
    with translation.override(settings.LANGUAGE_CODE):
        for code, spec in _registry.items():
            rule = rules.get(code)
            if spec.cadence not in cadences or rule is None or not rule.is_active:
                continue
            template = get_template(f"warnings/{code}.txt")
            period = _period(spec.cadence, now)
            for hit in spec.scan(rule, now):
                model = type(hit.obj)
                if model not in content_types:
                    content_types[model] = ContentType.objects.get_for_model(model)
                text = _text(template, {"obj": hit.obj, "rule": rule, "now": now, **hit.context})
                for user in _recipients(rule, hit, pmo):
                    items.append(
                        WarningItem(
                            rule=code,
                            content_type=content_types[model],
                            object_id=hit.obj.pk,
                            period=hit.period or period,
                            recipient=user,
                            text=text,
                            url=hit.url,
                        )
                    )
    return items


def run(
    *, now: dt.datetime | None = None, cadences: Iterable[str] = (DAILY,), dry_run: bool = False
) -> RunResult:
    """Scan, record and (unless dry_run) deliver the warnings due at `now`."""
    now = now or timezone.now()
    run_id = uuid.uuid4()
    items = collect(now=now, cadences=tuple(cadences))
    for item in items:
        item.run = run_id
    if dry_run:
        return RunResult(run=run_id, items=items, digests=[])
    # Insert in the order of the unique key: a second run at the same moment then waits
    # on the same first row instead of the two locking each other's rows (deadlock).
    items.sort(key=lambda i: (i.rule, i.content_type_id, i.object_id, i.period, i.recipient_id))
    with transaction.atomic():
        WarningItem.objects.bulk_create(items, ignore_conflicts=True, batch_size=1000)
        mine = list(
            WarningItem.objects.filter(run=run_id).select_related("recipient").order_by("pk")
        )
        grouped: dict[int, list[WarningItem]] = defaultdict(list)
        for item in mine:
            grouped[item.recipient_id].append(item)
        digests = WarningDigest.objects.bulk_create(
            WarningDigest(recipient=rows[0].recipient, run=run_id) for rows in grouped.values()
        )
        notes = Notification.objects.bulk_create(
            Notification(recipient=item.recipient, title=item.text[:200], body="", url=item.url)
            for item in mine
        )
        digest_of = {d.recipient_id: d for d in digests}
        for item, note in zip(mine, notes, strict=True):
            item.digest = digest_of[item.recipient_id]
            item.notification = note
        WarningItem.objects.bulk_update(mine, ["digest", "notification"], batch_size=1000)
        # The digest replaces the per-item e-mails: notifications stay in-app only.
        Notification.objects.filter(pk__in=[n.pk for n in notes]).update(emailed_at=timezone.now())
        ids = [d.pk for d in digests]

        def send():
            from .tasks import send_warning_digest_task

            for pk in ids:
                send_warning_digest_task.delay(pk)

        transaction.on_commit(send)
    return RunResult(run=run_id, items=mine, digests=digests)


def digest_send(digest_id: int) -> bool:
    """E-mail one digest unless it went already; return True if it was sent now.

    The attempt is counted first, in its own statement, so the count survives an SMTP
    error. The row is then locked while the mail is handed to SMTP, so two workers never
    both send it; an SMTP error rolls back and leaves it unsent for the retry.
    """
    from django.core.mail import EmailMultiAlternatives

    counted = WarningDigest.objects.filter(pk=digest_id, sent_at__isnull=True).update(
        attempts=F("attempts") + 1
    )
    if not counted:
        return False  # sent already (or gone with its recipient)
    with transaction.atomic():
        digest = (
            WarningDigest.objects.select_for_update().select_related("recipient").get(pk=digest_id)
        )
        if digest.sent_at is not None:
            return False
        user = digest.recipient
        if not user.is_active or not user.email:
            digest.sent_at = timezone.now()
            digest.save(update_fields=["sent_at"])
            return False
        items = list(digest.items.order_by("rule", "pk"))
        context = {
            "recipient": user,
            "items": items,
            "site_url": settings.SITE_URL.rstrip("/"),
            "portal_name": settings.PORTAL_NAME,
        }
        with translation.override(settings.LANGUAGE_CODE):
            subject = " ".join(
                render_to_string("emails/warning_digest_subject.txt", context).split()
            )
            text = render_to_string("emails/warning_digest.txt", context)
            html = render_to_string("emails/warning_digest.html", context)
        message = EmailMultiAlternatives(
            subject=settings.EMAIL_SUBJECT_PREFIX + subject, body=text, to=[user.email]
        )
        message.attach_alternative(html, "text/html")
        message.extra_headers["Auto-Submitted"] = "auto-generated"
        message.send()
        digest.sent_at = timezone.now()
        digest.save(update_fields=["sent_at"])
        return True
