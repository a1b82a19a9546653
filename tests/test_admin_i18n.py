"""Django admin speaks zh-Hant: no column header or field label is left in English.

A superuser opens, in the default language (zh-Hant), every registered ModelAdmin's
changelist and, for the portal's own apps, the change page of one row with its inline
tables. Every list has rows (Django draws the table, headers included, only when there
are some): the demo data, one warning run and a row for each list they leave empty.
A header or label made of ASCII letters only is a model field without a translated
`verbose_name`, or a display callable without a translated `description`: both show
as English ("CREATED BY", "DEPARTMENT").

Besides the rendered pages, every model field of the apps that own their migrations
here carries a translated verbose_name, so that validation messages and pages not
opened above do not fall back to the field's English name either.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from html.parser import HTMLParser

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

pytestmark = pytest.mark.django_db

# Words that read the same in zh-Hant, and why; anything else in ASCII letters fails.
PROPER_NOUNS = {
    "ID": "the row's key; Taiwan writes ID too",
    "URL": "a web address; Taiwan writes URL too",
    "RACI": "the matrix's name; its letters are the roles R, A, C, I",
}

# The portal's own apps: their change pages are checked too.
OWN_APPS = (
    "collab",
    "requests_app",
    "tasks_app",
    "meetings_app",
    "risks_app",
    "review_app",
    "portfolio_app",
)

ASCII_LETTER = re.compile(r"[A-Za-z]")


class _TextParser(HTMLParser):
    """Collect the column headers (a <thead>'s cells: the results table, the inline
    tables; not the navigation's visually hidden ones, nor a header's sort digits) and
    the field labels (not a choice's label, which holds its input)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.headers: list[str] = []
        self.labels: list[str] = []
        self._in_thead = False
        self._in_sortoptions = False  # holds links and a span, never a nested div
        self._cell: list[str] | None = None
        self._label: list[str] | None = None
        self._label_has_input = False

    def handle_starttag(self, tag, attrs):
        classes = (dict(attrs).get("class") or "").split()
        if tag == "thead":
            self._in_thead = "visually-hidden" not in classes
        elif tag == "th" and self._in_thead:
            self._cell = []
        elif tag == "div" and "sortoptions" in classes:
            self._in_sortoptions = True
        elif tag == "label":
            self._label, self._label_has_input = [], False
        elif tag in ("input", "select", "textarea") and self._label is not None:
            self._label_has_input = True

    def handle_endtag(self, tag):
        if tag == "thead":
            self._in_thead = False
        elif tag == "th" and self._cell is not None:
            self.headers.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "div":
            self._in_sortoptions = False
        elif tag == "label" and self._label is not None:
            if not self._label_has_input:
                self.labels.append(" ".join("".join(self._label).split()).rstrip(":："))
            self._label = None

    def handle_data(self, data):
        if self._cell is not None and not self._in_sortoptions:
            self._cell.append(data)
        if self._label is not None:
            self._label.append(data)


def page_texts(html: str) -> tuple[list[str], list[str]]:
    """Return (column headers, field labels) of an admin page."""
    parser = _TextParser()
    parser.feed(html)
    return [t for t in parser.headers if t], [t for t in parser.labels if t]


def english(texts: list[str]) -> list[str]:
    """Return the texts written in ASCII letters only, proper nouns aside."""
    return [
        text
        for text in texts
        if text.isascii() and ASCII_LETTER.search(text) and text not in PROPER_NOUNS
    ]


def test_the_check_reads_headers_and_labels_and_catches_english():
    """Headers of the results table and of inline tables, and field labels, are read;
    the navigation's tables, sort digits and choice labels are not; English is caught,
    Chinese and proper nouns are not (so the tests below can fail)."""
    html = """
    <table><thead class="visually-hidden"><tr><th scope="col">Model name</th></tr></thead></table>
    <table id="result_list"><thead><tr>
      <th scope="col" class="action-checkbox-column"><div class="text"><span>
        <input type="checkbox" id="action-toggle"></span></div></th>
      <th scope="col" class="sortable sorted column-created_by">
        <div class="sortoptions"><a class="sortremove" href="?o="></a>
          <span class="sortpriority">1</span><a href="?o=-1" class="toggle"></a></div>
        <div class="text"><a href="?o=1">created by</a></div><div class="clear"></div></th>
      <th scope="col"><div class="text"><span>部門</span></div></th>
      <th scope="col"><div class="text"><span>ID</span></div></th>
    </tr></thead><tbody><tr><th>a row, not a header</th></tr></tbody></table>
    <div class="js-inline-admin-formset inline-group"><div class="tabular inline-related">
      <fieldset class="module"><table><thead><tr>
        <th class="column-department">department</th><th>版本</th>
      </tr></thead></table></fieldset></div></div>
    <div class="flex-container"><label>Digest:</label><div class="readonly">-</div></div>
    <div class="flex-container"><label class="required" for="id_name">名稱：</label></div>
    <label for="id_state_0"><input type="radio" id="id_state_0"> Open</label>
    """
    headers, labels = page_texts(html)
    assert headers == ["created by", "部門", "ID", "department", "版本"]
    assert labels == ["Digest", "名稱"]
    assert english(headers) == ["created by", "department"]
    assert english(labels) == ["Digest"]


@pytest.fixture
def every_list_has_rows(django_capture_on_commit_callbacks):
    """The demo data, one warning run, and a row for each list they leave empty."""
    from axes.models import AccessAttempt, AccessFailureLog
    from django_celery_beat.models import ClockedSchedule, IntervalSchedule, SolarSchedule

    from collab.models import CalendarDay, Notification, User, WarningDigest, WarningItem
    from portfolio_app.models import AnalysisDispatch

    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", verbosity=0)
    call_command("send_warnings", "--dry-run", verbosity=0)  # settles the rule rows
    user = User.objects.get(username="pmo")
    run = uuid.uuid4()
    digest = WarningDigest.objects.create(recipient=user, run=run)
    WarningItem.objects.create(
        rule="task_overdue",
        content_type=ContentType.objects.get_for_model(User),
        object_id=user.pk,
        period="2026-07-14",
        recipient=user,
        text="逾期任務",
        run=run,
        digest=digest,
        notification=Notification.objects.filter(recipient=user).first(),
    )
    CalendarDay.objects.create(date=dt.date(2026, 2, 7), is_workday=True, name="補班")
    AnalysisDispatch.objects.create(month=dt.date(2026, 6, 1), sent_at=timezone.now())
    ClockedSchedule.objects.create(clocked_time=timezone.now())
    SolarSchedule.objects.create(event="sunrise", latitude=25.03, longitude=121.56)
    IntervalSchedule.objects.create(every=10, period=IntervalSchedule.MINUTES)
    attempt = {
        "user_agent": "Mozilla/5.0",
        "ip_address": "127.0.0.1",
        "username": "staff",
        "path_info": "/accounts/login/",
    }
    AccessAttempt.objects.create(
        **attempt, http_accept="*/*", get_data="", post_data="", failures_since_start=1
    )
    AccessFailureLog.objects.create(**attempt, locked_out=False)


def test_every_changelist_and_change_page_speaks_zh_hant(client, superuser, every_list_has_rows):
    """Every registered model's changelist has rows and no English column header; each
    own app's change page has no English field label or inline column header."""
    client.force_login(superuser)
    found: dict[str, list[str]] = {}
    empty: list[str] = []
    for model in admin.site._registry:
        opts = model._meta
        label = f"{opts.app_label}.{opts.model_name}"
        response = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        assert response.status_code == 200, label
        headers, _labels = page_texts(response.content.decode())
        if not headers:
            empty.append(label)
        if words := english(headers):
            found[f"{label} list"] = words
        if opts.app_label not in OWN_APPS:
            continue
        row = model._default_manager.order_by("pk").first()
        if row is None:
            continue  # reported as empty above
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[row.pk])
        response = client.get(url)
        assert response.status_code == 200, url
        headers, labels = page_texts(response.content.decode())
        if words := english(headers + labels):
            found[f"{label} page"] = words
    assert not empty, f"Changelists without rows, so unchecked: {empty}"
    assert not found, f"English in the zh-Hant admin: {found}"


def test_every_model_field_has_a_translated_verbose_name():
    """requests_app, tasks_app, review_app and portfolio_app name every field translatably.

    (django-guardian's object-permission rows are its own, never shown.) collab's
    fields are checked through its admin pages above: a collab model change waits for
    the app's own migration.
    """
    missing = []
    for app_label in OWN_APPS[1:]:
        for model in apps.get_app_config(app_label).get_models():
            if issubclass(model, UserObjectPermissionBase | GroupObjectPermissionBase):
                continue
            for field in model._meta.get_fields():
                if field.auto_created or not hasattr(field, "verbose_name"):
                    continue
                if not isinstance(field.verbose_name, Promise):
                    missing.append(f"{model._meta.label}.{field.name}")
    assert not missing, f"Fields without a translated verbose_name: {missing}"
