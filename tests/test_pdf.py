"""The shared PDF helper: CJK font embedded, Chinese text kept, Chinese file names.

Needs poppler-utils (pdffonts, pdftotext) and the font built by `make install`
(manage.py build_pdf_font); no database. Timings live in benchmarks/pdf_fonts.py.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from collab.pdf import FONT_FAMILY, harfbuzz_subset_available, pdf_response, render_pdf

PHRASES = ["跨部門協作需求申請表", "需求背景", "協作部門", "市場部", "技術部", "預期成果", "簽名"]
NAMES = ["陳喆", "王堃", "林峯"]  # characters outside Big5 that occur in real names

TEMPLATE = """{% extends "pdf/base.html" %}
{% block title %}跨部門協作需求申請表{% endblock %}
{% block heading %}跨部門協作需求申請表{% endblock %}
{% block meta_left %}REQ-2025-0042{% endblock %}
{% block content %}
<h2>需求背景</h2>
<p>市場部請技術部協助建置報名系統 (Phase 2)，預算 NT$ 120,000。</p>
<h2>協作部門</h2>
<table class="pdf-table">
  <thead><tr><th>項次</th><th>協作部門</th><th>聯絡窗口</th></tr></thead>
  <tbody>{% for department, name in rows %}
    <tr><td>{{ forloop.counter }}</td><td>{{ department }}</td><td>{{ name }}</td></tr>
  {% endfor %}</tbody>
</table>
<h2>預期成果</h2>
<p><b>簽名</b></p>
{% endblock %}
"""


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(
            f"`{name}` is missing: install the Debian package poppler-utils (make install)."
        )
    return path


def _pdffonts(pdf: Path) -> list[dict[str, str]]:
    """pdffonts' rows as {"name", "emb"}.

    Columns: name, type, encoding, emb, sub, uni, object number, generation. A long name
    shifts the others, and type has spaces, so the row is read from both ends.
    """
    out = subprocess.run(
        [_tool("pdffonts"), str(pdf)], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out[:1] and out[0].split()[:1] == ["name"], out
    fonts = []
    for row in out[2:]:
        name, *_type_encoding, emb, _sub, _uni, _number, _generation = row.split()
        fonts.append({"name": name, "emb": emb})
    return fonts


@pytest.fixture
def pdf_template(settings, tmp_path):
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "pdf_test.html").write_text(TEMPLATE, encoding="utf-8")
    templates = copy.deepcopy(settings.TEMPLATES)
    templates[0]["DIRS"] = [folder, *templates[0]["DIRS"]]
    settings.TEMPLATES = templates
    return "pdf_test.html"


def test_pdf_embeds_the_cjk_font_and_keeps_the_chinese_text(pdf_template, tmp_path):
    rows = [("市場部", NAMES[0]), ("技術部", NAMES[1]), ("市場部", NAMES[2])]
    pdf = render_pdf(pdf_template, {"rows": rows})
    assert pdf.startswith(b"%PDF-")
    path = tmp_path / "form.pdf"
    path.write_bytes(pdf)

    fonts = _pdffonts(path)
    ours = FONT_FAMILY.replace(" ", "-")  # e.g. ABCDEF+Collab-Noto-Sans-CJK-TC-Bold
    assert fonts, "pdffonts lists no font"
    assert any("CJK" in font["name"] and font["emb"] == "yes" for font in fonts), fonts
    # Every glyph came from the embedded CJK font: no fallback font, so no tofu either.
    assert all(ours in font["name"] and font["emb"] == "yes" for font in fonts), fonts

    text = subprocess.run(
        [_tool("pdftotext"), "-enc", "UTF-8", str(path), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    compact = "".join(text.split())
    for phrase in [*PHRASES, *NAMES, "REQ-2025-0042", "NT$120,000"]:
        assert phrase in compact, f"{phrase!r} not in the PDF text:\n{text}"


def test_missing_font_asks_for_make_install(pdf_template, settings, tmp_path):
    settings.PDF_FONT_DIR = tmp_path / "no-fonts-here"
    with pytest.raises(ImproperlyConfigured, match="make install"):
        render_pdf(pdf_template, {"rows": []})


def test_pdf_response_is_inline_with_a_utf8_file_name():
    response = pdf_response(b"%PDF-1.7 test", "需求申請表 REQ-7.pdf")
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        'inline; filename="REQ-7.pdf"; '
        "filename*=UTF-8''%E9%9C%80%E6%B1%82%E7%94%B3%E8%AB%8B%E8%A1%A8%20REQ-7.pdf"
    )


def test_weasyprint_has_harfbuzz_subset():
    """Without it WeasyPrint subsets fonts with fontTools: same PDF, several times slower."""
    assert harfbuzz_subset_available(), (
        "WeasyPrint cannot load libharfbuzz-subset: install the Debian package "
        "libharfbuzz-subset0 (make install)."
    )
