"""The 協作分析報告 PDF on demand: what it prints (Chinese text extracted with poppler,
the CJK font embedded), who may open it over which departments, and the month asked.

The hand-made month is described in tests/review_analysis_cases.py.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import unquote

import pytest
from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from portfolio_app import pdf
from portfolio_app.selectors import analysis as selectors
from portfolio_app.views.analysis import picker_context
from tests.factories import DelegationFactory, UserFactory
from tests.review_analysis_cases import LONG_PROBLEM, MARCH, NOW
from tests.test_task_pdf import _assert_cjk_font_embedded, _compact, _text

pytest_plugins = ["tests.review_analysis_fixtures"]
pytestmark = pytest.mark.django_db

URL = reverse("portfolio_app:analysis-pdf")


def _zh(msgid: str) -> str:
    with translation.override("zh-hant"):
        return translation.gettext(msgid)


def _get(client, user, month="2025-03"):
    client.force_login(user)
    return client.get(URL, {"month": month} if month is not None else {})


def _pdf_text(response, tmp_path) -> str:
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "application/pdf"
    return _compact(_text(response.content, tmp_path, layout=False))


def test_the_pdf_prints_the_month_in_chinese(client, march, tmp_path):
    """Title, month, the sections' numbers, department names, the quoted feedback and
    the suggestions come out as text, in the embedded CJK font."""
    response = _get(client, march.roles.pmo)
    text = _pdf_text(response, tmp_path)
    _assert_cjk_font_embedded(response.content, tmp_path)

    assert _compact(_zh("Collaboration analysis report")) in text
    assert "2025年3月" in text and "2025年2月" in text  # the month and the one compared
    assert _compact(_zh("Whole company")) in text
    for name in ("市場部", "技術部"):
        assert name in text
    assert "40%" in text  # the on-time rate
    assert "50%" in text and "33.3%" in text  # per department
    assert "40.5" in text  # the average cycle time
    assert LONG_PROBLEM[:40] in text  # the latest problem, quoted
    assert "市場部及時提供客戶需求" in text  # praise
    assert "需求審核需線下簽字" in text  # a suggestion's pain point
    assert march.feedback[0].number in text
    assert "二月的問題" not in text and "二月的建議" not in text  # February's stay out

    disposition = unquote(response["Content-Disposition"])
    assert f"{_zh('Collaboration analysis report')} 2025-03.pdf" in disposition


def test_the_pdf_in_english(march, tmp_path):
    with translation.override("en"):
        report = selectors.monthly_analysis(MARCH, now=NOW)
        content = pdf.analysis_pdf(report)
        filename = pdf.analysis_filename(report)
    text = _compact(_text(content, tmp_path))
    assert "Collaborationanalysisreport" in text and "March2025" in text
    assert "Keyfiguresagainstthepreviousmonth" in text
    assert filename == "Collaboration analysis report 2025-03.pdf"


def test_an_empty_month_prints_too(db, tmp_path):
    report = selectors.monthly_analysis(dt.date(2024, 6, 1), now=NOW)
    with translation.override("zh-hant"):
        text = _compact(_text(pdf.analysis_pdf(report), tmp_path))
    assert _compact(_zh("No collaboration activity in this month.")) in text


@pytest.mark.parametrize("who", ["pmo", "executive", "admin", "superuser"])
def test_pmo_executives_and_admins_get_the_company_report(client, march, tmp_path, who):
    text = _pdf_text(_get(client, getattr(march.roles, who)), tmp_path)
    assert "技術部回覆太慢" in text and "市場部及時提供客戶需求" in text
    assert _compact(_zh("Whole company")) in text


def test_a_head_gets_the_report_of_their_departments(client, march, tmp_path):
    """Marketing's head: Marketing's row and the feedback concerning Marketing only."""
    text = _pdf_text(_get(client, march.roles.mkt_head), tmp_path)
    assert _compact(_zh("Whole company")) not in text
    assert "市場部及時提供客戶需求" in text  # concerns Marketing
    assert LONG_PROBLEM[:40] in text  # concerns Tech and Marketing
    assert "技術部回覆太慢" not in text  # concerns Tech only
    assert "數據同步仍依賴人工" not in text  # Tech's suggestion
    assert "50%" in text and "33.3%" not in text


def test_a_deputy_acting_for_a_head_gets_the_heads_departments(client, march, tmp_path):
    r = march.roles
    deputy = UserFactory(department=r.tech)
    DelegationFactory(head=r.tech_head, deputy=deputy)
    text = _pdf_text(_get(client, deputy), tmp_path)
    assert "技術部回覆太慢" in text and "市場部及時提供客戶需求" not in text


def test_a_head_of_a_department_without_activity_gets_an_empty_report(client, march, tmp_path):
    text = _pdf_text(_get(client, march.roles.design_head), tmp_path)
    assert "設計部" in text
    assert "技術部回覆太慢" not in text and LONG_PROBLEM[:40] not in text


def test_staff_are_refused(client, march):
    assert _get(client, march.roles.staff).status_code == 403
    assert _get(client, march.roles.tech_staff, None).status_code == 403


def test_anonymous_people_are_sent_to_sign_in(client, db):
    response = client.get(URL, {"month": "2025-03"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse(settings.LOGIN_URL))


def test_without_a_month_the_previous_month_is_printed(client, roles):
    response = _get(client, roles.pmo, None)
    assert response.status_code == 200
    default = selectors.previous_month()
    assert f" {default:%Y-%m}.pdf" in unquote(response["Content-Disposition"])


@pytest.mark.parametrize("month", ["2025-13", "march", "2025/03", "0000-01", "9999-12"])
def test_a_bad_month_is_a_clear_400(client, roles, month):
    """Not a 500: the reason, in the page's language, and a month picker."""
    response = _get(client, roles.pmo, month)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    body = response.content.decode()
    assert 'id="analysis-month-error"' in body
    assert 'name="month"' in body
    (error,) = response.context["form"].errors["month"]
    assert error in body
    default = selectors.previous_month()
    assert f'value="{default:%Y-%m}" selected' in body


def test_the_400_speaks_the_readers_language(client, roles):
    client.force_login(roles.pmo)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get(URL, {"month": "2025-13"})
    assert response.status_code == 400
    assert "Give the month as YYYY-MM" in response.content.decode()


def test_the_pdf_is_read_only(client, roles):
    client.force_login(roles.pmo)
    assert client.post(URL, {"month": "2025-03"}).status_code == 405


def test_the_month_picker_for_the_dashboard(march):
    """The dashboard includes the picker: months with data, the previous one picked;
    nothing for staff."""
    r = march.roles
    context = picker_context(r.mkt_head, today=dt.date(2025, 4, 9))
    html = render_to_string("review_app/_analysis_picker.html", context)
    assert f'action="{URL}"' in html
    assert 'value="2025-03" selected' in html
    assert 'value="2025-04"' in html and 'value="2025-01"' in html
    assert 'value="2024-12"' not in html  # before the first request
    assert picker_context(r.staff) == {}
    assert render_to_string("review_app/_analysis_picker.html", {}).strip() == ""
