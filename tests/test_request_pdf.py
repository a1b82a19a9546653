"""The printable request form 需求申請表."""

import subprocess

import pytest
from django.urls import reverse

from requests_app import services
from tests.factories import DelegationFactory, DepartmentFactory, UserFactory, make_request


def _pdf_text(content: bytes, tmp_path) -> str:
    path = tmp_path / "form.pdf"
    path.write_bytes(content)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def _pdf_fonts(content: bytes, tmp_path) -> str:
    path = tmp_path / "fonts.pdf"
    path.write_bytes(content)
    return subprocess.run(
        ["pdffonts", str(path)], capture_output=True, text=True, check=True
    ).stdout


@pytest.fixture
def reviewed_request(db):
    """A submitted request: mkt agreed through a deputy, tech still pending."""
    mkt, tech = DepartmentFactory(name="市場部"), DepartmentFactory(name="技術部")
    mkt_head = UserFactory(department=mkt, full_name="林美玲")
    tech_head = UserFactory(department=tech, full_name="蔡宗翰")
    mkt.heads.add(mkt_head)
    tech.heads.add(tech_head)
    deputy = UserFactory(department=mkt, full_name="陳怡君")
    DelegationFactory(head=mkt_head, deputy=deputy)
    initiator = UserFactory(department=mkt, full_name="王小美")
    req = make_request(
        initiator=initiator,
        departments=[mkt, tech],
        lead=mkt,
        name="新品上市整合行銷",
        background="上半年競品市占率提升，需鞏固市場份額。",
    )
    req = services.request_submit(request=req, by=initiator)
    review = req.reviews.get(department=mkt)
    services.review_decide(
        review=review, by=deputy, approve=True, comment="支持", committed_tasks="主視覺設計"
    )
    return req


@pytest.mark.django_db
def test_request_pdf_shows_chinese_text_with_an_embedded_cjk_font(
    client, reviewed_request, tmp_path
):
    """The PDF carries the request's Chinese text and embeds the CJK font it uses."""
    client.force_login(reviewed_request.initiator)
    response = client.get(reverse("requests_app:pdf", args=[reviewed_request.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "filename*=UTF-8''" in response["Content-Disposition"]
    text = _pdf_text(response.content, tmp_path)
    compact = "".join(text.split())
    for expected in [
        reviewed_request.number,
        "新品上市整合行銷",
        "上半年競品市占率提升",
        "市場部",
        "技術部",
        "王小美",
        "主視覺設計",
        "跨部門協作需求申請表",
    ]:
        assert expected in compact, expected
    # The deputy's signature names the head they acted for.
    assert "陳怡君" in compact and "林美玲" in compact
    fonts = _pdf_fonts(response.content, tmp_path)
    cjk = [line for line in fonts.splitlines() if "Noto" in line or "CJK" in line]
    assert cjk, fonts
    assert all(" yes " in line for line in cjk), fonts  # emb column


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("who", "status"),
    [("initiator", 200), ("head", 200), ("pmo", 200), ("executive", 200), ("outsider", 404)],
)
def test_request_pdf_permissions(request, client, reviewed_request, who, status):
    """Everyone who can see the request may print it; an uninvolved department gets 404."""
    if who == "initiator":
        user = reviewed_request.initiator
    elif who == "head":
        user = reviewed_request.departments.get(name="技術部").heads.get()
    else:
        user = request.getfixturevalue(who)
    client.force_login(user)
    assert client.get(reverse("requests_app:pdf", args=[reviewed_request.pk])).status_code == status


@pytest.mark.django_db
def test_draft_pdf_prints_without_a_number(client, tmp_path):
    department = DepartmentFactory()
    initiator = UserFactory(department=department)
    req = make_request(initiator=initiator, departments=[department], name="草稿需求")
    client.force_login(initiator)
    response = client.get(reverse("requests_app:pdf", args=[req.pk]))
    assert response.status_code == 200
    assert "草稿需求" in "".join(_pdf_text(response.content, tmp_path).split())
