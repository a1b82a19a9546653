"""The printable 成果驗收確認單 and 復盤報告: Chinese text extracted with poppler, the
CJK font embedded, and who may print them."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from requests_app.models import Goal
from review_app.choices import AcceptanceOutcome, Seat, Verdict
from review_app.models import AcceptanceVerdict, Retrospective, TaskAcceptance
from review_app.services import closing as services
from tasks_app.models import TaskDeliverable
from tests.review_closing_fixtures import (
    complete,
    open_final,
    signature_of,
)
from tests.test_task_pdf import _assert_cjk_font_embedded, _compact, _text

pytestmark = pytest.mark.django_db
# The `project` fixture (build_project) comes from the shared closing fixtures.
pytest_plugins = ["tests.review_closing_fixtures"]


def _pdf(client, user, name, req):
    client.force_login(user)
    return client.get(reverse(f"review_app:{name}", args=[req.pk]))


def _accept(project, task, *, round_, outcome, answers):
    """Record an acceptance round as task acceptance does (another area's service)."""
    acceptance = TaskAcceptance.objects.create(
        task=task,
        round=round_,
        completion_note=f"第{round_}次提交",
        submitted_by=project.designer,
        due_date=timezone.localdate(),
        outcome=outcome,
        closed_at=timezone.now(),
    )
    for seat, who, decision, reason in answers:
        AcceptanceVerdict.objects.create(
            acceptance=acceptance,
            seat=seat,
            reviewer=who if seat != Seat.HEAD else None,
            department=who if seat == Seat.HEAD else None,
            decision=decision,
            reason=reason,
            decided_by=project.initiator if seat != Seat.HEAD else project.design_head,
            decided_at=timezone.now(),
        )
    return acceptance


def test_final_acceptance_pdf_has_tasks_answers_summary_and_signatures(client, project, tmp_path):
    """Each task with its deliverable, the last acceptance round's answers, the summary
    and every department's signature: the signer, the deputy with the head, the time."""
    design_task = project.tasks[0]
    _accept(
        project,
        design_task,
        round_=1,
        outcome=AcceptanceOutcome.RECTIFY,
        answers=[(Seat.INITIATOR, project.initiator, Verdict.RECTIFY, "缺少行動版")],
    )
    _accept(
        project,
        design_task,
        round_=2,
        outcome=AcceptanceOutcome.PASSED,
        answers=[
            (Seat.INITIATOR, project.initiator, Verdict.PASSED, ""),
            (Seat.HEAD, project.design, Verdict.PASSED, "版面清楚"),
        ],
    )
    TaskDeliverable.objects.create(
        task=design_task,
        round=2,
        file=SimpleUploadedFile("v2.pdf", b"%PDF-1.4"),
        original_name="新功能設計稿v2.pdf",
        size=8,
        content_type="application/pdf",
        uploaded_by=project.designer,
    )
    final = complete(project)

    response = _pdf(client, project.initiator, "final-acceptance-pdf", project.request)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "filename*=UTF-8''" in response["Content-Disposition"]
    text = _compact(_text(response.content, tmp_path, layout=False))
    for expected in [
        project.request.number,
        "新功能設計",
        "《新功能設計稿》",
        "新功能設計稿v2.pdf",
        "第2次提交",
        "版面清楚",
        "用戶需求收集",
        "《用戶需求匯總報告》",
        "三項新功能已上線",
        project.mkt.name,
        project.design.name,
        project.sales.name,
        "林美玲",
        "張志明",
        "陳怡君",  # the deputy who signed for 銷售部 …
        "李國華",  # … on behalf of the head
    ]:
        assert expected in text, expected
    assert "缺少行動版" not in text  # only the last round's answers
    for signature in final.signatures.all():
        assert timezone.localtime(signature.signed_at).strftime("%Y-%m-%d%H:%M") in text
    _assert_cjk_font_embedded(response.content, tmp_path)


def test_final_acceptance_pdf_before_signatures_has_empty_blocks(client, project, tmp_path):
    final = open_final(project)
    services.final_sign(signature=signature_of(final, project.design), by=project.design_head)
    text = _compact(
        _text(
            _pdf(client, project.designer, "final-acceptance-pdf", project.request).content,
            tmp_path,
            layout=False,
        )
    )
    assert "張志明" in text
    assert "陳怡君" not in text and "林美玲" not in text


def test_retrospective_pdf_has_target_actual_achievement_and_the_rest(client, project, tmp_path):
    complete(project)
    retro = Retrospective.objects.get(request=project.request)
    goal = Goal.objects.get(request=project.request)
    services.retrospective_save(
        retrospective=retro,
        by=project.initiator,
        highlights="每日站會同步進度",
        shortcomings="需求變更未走流程導致開發返工",
        actual_values={goal.pk: Decimal("18")},
        actions=[{"description": "建立需求變更評審機制", "department": project.design}],
        contributions={project.sales.pk: "提供一百條用戶需求反饋"},
    )
    response = _pdf(client, project.design_head, "retrospective-pdf", project.request)
    assert response.status_code == 200
    text = _compact(_text(response.content, tmp_path, layout=False))
    for expected in [
        "月活躍用戶增長",
        "15%",
        "18%",
        "120%",
        "每日站會同步進度",
        "需求變更未走流程導致開發返工",
        "建立需求變更評審機制",
        "提供一百條用戶需求反饋",
        project.sales.name,
    ]:
        assert expected in text, expected
    _assert_cjk_font_embedded(response.content, tmp_path)


@pytest.mark.parametrize("name", ["final-acceptance-pdf", "retrospective-pdf"])
@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("initiator", 200),
        ("design_head", 200),
        ("sales_deputy", 200),
        ("designer", 200),
        ("pmo", 200),
        ("executive", 200),
        ("outsider", 404),
        ("outsider_head", 404),
    ],
)
def test_pdfs_are_for_those_who_see_the_request(request, client, project, name, who, status):
    complete(project)
    user = getattr(project, who, None) or request.getfixturevalue(who)
    assert _pdf(client, user, name, project.request).status_code == status


def test_retrospective_pdf_is_404_before_completion(client, project):
    assert _pdf(client, project.initiator, "retrospective-pdf", project.request).status_code == 404
