"""Measure WeasyPrint render time of a realistic form PDF for several CJK font setups.

    DJANGO_SETTINGS_MODULE=collab.settings.local .venv/bin/python benchmarks/pdf_fonts.py
    ... benchmarks/pdf_fonts.py --runs 11 --setups chosen,noto-system --no-fonttools

Each setup runs in a fresh Python process, as a web worker would: "import" is
django.setup() plus importing WeasyPrint and collab.pdf, "first" the first render
(font configuration, font loading, caches), then the median of --runs further renders
("wall" and "CPU"; CPU time is steadier on a busy machine). Rows marked "fontTools" force
WeasyPrint's fallback subsetter, i.e. what happens where libharfbuzz-subset0 is missing.

The form (benchmarks/templates/benchmarks/request_form.html, extending pdf/base.html) is
rendered through the real template, stylesheet and URL fetcher of collab.pdf; only the
font differs. The "subset-cff" font is built on the first run into PDF_FONT_DIR/benchmark
(about a minute). The chosen setup needs `manage.py build_pdf_font` first.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
TEMPLATE = "benchmarks/request_form.html"
sys.path.insert(0, str(ROOT))

NOTO_DIR = Path("/usr/share/fonts/opentype/noto")

SETUPS = {
    "chosen": "collab.pdf: Noto Sans CJK TC subset as TrueType, @font-face file URL",
    "chosen-new-fc": "the same, but a new FontConfiguration for every render",
    "noto-system": "Noto Sans CJK TC, fonts-noto-cjk OTC (CFF, 20 MB), via fontconfig",
    "subset-cff": "the chosen subset kept as CFF/OpenType, @font-face file URL",
    "wqy-system": "WenQuanYi Micro Hei, fonts-wqy-microhei (TrueType, 5 MB), via fontconfig",
}
# Setups also measured with the fontTools fallback subsetter (unless --no-fonttools).
FONTTOOLS_SETUPS = ["chosen", "noto-system", "subset-cff", "wqy-system"]
SYSTEM_FAMILIES = {"noto-system": "Noto Sans CJK TC", "wqy-system": "WenQuanYi Micro Hei"}
CFF_FAMILY = "Benchmark Noto Sans CJK TC CFF"


def form_context() -> dict:
    departments = [
        "市場部", "技術部", "財務部", "人力資源部", "法務室", "業務部", "資訊安全處",
        "客戶服務中心", "採購課", "品質保證部",
    ]  # fmt: skip
    tasks = [
        "報名網頁設計與多語系文案校閱",
        "後端 API 開發、資料庫規劃及效能調校",
        "預算編列、請款流程與發票核銷",
        "工作人員排班、加班費試算",
        "個資同意書條款審閱與合約用印",
        "邀請重點客戶並追蹤出席狀況",
        "弱點掃描、滲透測試與存取權限盤點",
        "客服專線話術訓練及常見問題整理",
        "場地、餐點、印刷品詢價與比價",
        "驗收標準訂定、測試案例撰寫",
    ]
    contacts = [
        "陳怡君", "林志豪", "黃淑芬", "張家豪", "李雅婷", "王建宏", "吳佩珊", "劉俊傑",
        "蔡宜蓁", "楊喆", "許峯銘", "鄭堃", "謝綉華", "郭煊", "洪犇", "曾淑惠",
        "周冠廷", "葉美玲", "蘇柏翰", "莊雅雯",
    ]  # fmt: skip
    rows = [
        {
            "department": departments[i % len(departments)],
            "task": tasks[i % len(tasks)] + f"（第 {i // len(tasks) + 1} 階段）",
            "contact": contacts[i],
            "due": f"2025-{i % 9 + 3:02d}-{i % 27 + 1:02d}",
            "budget": f"{12000 + i * 3750:,}",
        }
        for i in range(20)
    ]
    return {
        "number": "REQ-2025-00123",
        "date": "2025 年 3 月 14 日",
        "applicant": "林志玲",
        "department": "業務部",
        "extension": "5821",
        "project": "2025 年度新品發表會線上報名暨數據分析平台（Event Registration Platform）",
        "rows": rows,
        "signature_roles": ["申請人", "部門主管", "協作部門主管", "PMO 核准"],
    }


# --- font builds --------------------------------------------------------------------


def _build_cff_subset(source: Path, output: Path) -> None:
    """The chosen subset (same characters and features), but kept as CFF."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    from collab.management.commands.build_pdf_font import FAMILY, _face_index, _is_hangul

    font = TTFont(str(source), fontNumber=_face_index(source, FAMILY))
    options = subset.Options()
    options.layout_features = [tag for tag in options.layout_features if tag != "locl"]
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.notdef_outline = True
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=[cp for cp in font.getBestCmap() if not _is_hangul(cp)])
    subsetter.subset(font)
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_suffix(".tmp")
    font.save(str(partial))
    partial.replace(output)


def cff_paths(font_dir: Path) -> dict[int, Path]:
    folder = font_dir / "benchmark"
    return {
        400: folder / "NotoSansCJKtc-Regular.cff.otf",
        700: folder / "NotoSansCJKtc-Bold.cff.otf",
    }


def ensure_cff_subset(font_dir: Path) -> None:
    todo = []
    for weight, output in cff_paths(font_dir).items():
        name = "NotoSansCJK-Regular.ttc" if weight == 400 else "NotoSansCJK-Bold.ttc"
        if not output.is_file():
            todo.append((NOTO_DIR / name, output))
    if todo:
        print(f"Building the CFF subset for 'subset-cff' into {font_dir / 'benchmark'} ...")
        started = time.monotonic()
        with ProcessPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:
            for future in [pool.submit(_build_cff_subset, s, o) for s, o in todo]:
                future.result()
        print(f"  done in {time.monotonic() - started:.0f} s\n")


# --- one setup, in its own process --------------------------------------------------


def worker(setup: str, subsetter: str, runs: int) -> dict:
    started = time.perf_counter()
    import django

    django.setup()
    from django.conf import settings
    from django.test.utils import override_settings

    templates = copy.deepcopy(settings.TEMPLATES)
    templates[0]["DIRS"] = [TEMPLATE_DIR, *templates[0]["DIRS"]]
    override_settings(TEMPLATES=templates).enable()

    import weasyprint
    from django.template.loader import render_to_string
    from weasyprint.text.fonts import FontConfiguration

    from collab import pdf

    if subsetter == "fontTools":
        import weasyprint.pdf.fonts

        weasyprint.pdf.fonts.harfbuzz_subset = None
    import_s = time.perf_counter() - started
    context = form_context()

    if setup == "chosen":

        def render() -> bytes:
            return pdf.render_pdf(TEMPLATE, context)

    elif setup == "chosen-new-fc":

        def render() -> bytes:
            pdf.clear_cache()
            return pdf.render_pdf(TEMPLATE, context)

    else:
        fetcher = pdf.PortalURLFetcher([pdf.font_dir()])
        font_config = FontConfiguration()
        stylesheets = []
        if setup == "subset-cff":
            family = CFF_FAMILY
            css = "".join(
                f'@font-face {{ font-family: "{family}"; font-weight: {weight}; '
                f'src: url("{path.as_uri()}"); }}\n'
                for weight, path in cff_paths(pdf.font_dir()).items()
            )
            stylesheets = [weasyprint.CSS(string=css, font_config=font_config, url_fetcher=fetcher)]
        else:
            family = SYSTEM_FAMILIES[setup]
        html_context = {"PORTAL_NAME": settings.PORTAL_NAME, **context, "pdf_font_family": family}

        def render() -> bytes:
            html = render_to_string(TEMPLATE, html_context)
            document = weasyprint.HTML(
                string=html, base_url=pdf._base_url(None), url_fetcher=fetcher
            )
            return document.write_pdf(
                stylesheets=stylesheets, font_config=font_config, **pdf.WRITE_OPTIONS
            )

    walls, cpus = [], []
    for _ in range(runs + 1):
        wall, cpu = time.perf_counter(), time.process_time()
        document = render()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)

    html = render_to_string(TEMPLATE, {"PORTAL_NAME": settings.PORTAL_NAME, **context})
    text = re.sub(r"<style.*?</style>|<[^>]+>", "", html, flags=re.S)
    output = pdf.font_dir() / "benchmark" / f"{setup}-{subsetter}.pdf"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(document)
    return {
        "setup": setup,
        "subsetter": subsetter,
        "import": import_s,
        "first": walls[0],
        "wall": statistics.median(walls[1:]),
        "cpu": statistics.median(cpus[1:]),
        "size_kb": len(document) / 1024,
        "pages": _pages(output),
        "chars": len({c for c in text if not c.isspace()}),
        "cjk": len({c for c in text if "\u3400" <= c <= "\u9fff" or "\uf900" <= c <= "\ufaff"}),
        "fonts": _fonts(output),
        "pdf": str(output),
    }


def _fonts(path: Path) -> str:
    if not (pdffonts := shutil.which("pdffonts")):
        return "?"
    lines = subprocess.run(  # noqa: S603 - our own PDF file
        [pdffonts, str(path)], capture_output=True, text=True, check=False
    ).stdout.splitlines()[2:]
    names = []
    for line in lines:
        # name, type, encoding, then emb sub uni object-number generation: read from the
        # right, as a long name shifts the columns.
        name, *_middle, emb, _sub, _uni, _number, _generation = line.split()
        embedded = "emb" if emb == "yes" else "NOT EMBEDDED"
        names.append(f"{name.split('+', 1)[-1]} ({embedded})")
    return ", ".join(names)


def _pages(path: Path) -> int | str:
    if not (pdfinfo := shutil.which("pdfinfo")):
        return "?"
    info = subprocess.run([pdfinfo, str(path)], capture_output=True, text=True, check=False)  # noqa: S603
    found = re.search(r"^Pages:\s+(\d+)", info.stdout, flags=re.M)
    return int(found[1]) if found else "?"


# --- driver -------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="renders after the first")
    parser.add_argument("--fonttools-runs", type=int, default=3)
    parser.add_argument("--setups", default=",".join(SETUPS), help="comma-separated")
    parser.add_argument("--no-fonttools", action="store_true", help="skip fallback rows")
    parser.add_argument("--worker", nargs=2, metavar=("SETUP", "SUBSETTER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "collab.settings.local")

    if args.worker:
        setup, subsetter = args.worker
        runs = args.fonttools_runs if subsetter == "fontTools" else args.runs
        print(json.dumps(worker(setup, subsetter, runs)))
        return

    import django

    django.setup()
    import weasyprint

    from collab import pdf

    setups = [s for s in args.setups.split(",") if s]
    unknown = set(setups) - set(SETUPS)
    if unknown:
        parser.error(f"unknown setups {sorted(unknown)}; choose from {list(SETUPS)}")
    pdf.font_paths()  # a clear error when `manage.py build_pdf_font` never ran
    if "subset-cff" in setups:
        ensure_cff_subset(pdf.font_dir())

    jobs = [(s, "HarfBuzz") for s in setups]
    if not args.no_fonttools:
        jobs += [(s, "fontTools") for s in setups if s in FONTTOOLS_SETUPS]
    print(
        f"WeasyPrint {weasyprint.__version__}; HarfBuzz-Subset available: "
        f"{pdf.harfbuzz_subset_available()}; CPUs: {os.cpu_count()}; "
        f"load average: {', '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )
    print(
        f"runs: median of {args.runs} (fontTools rows: {args.fonttools_runs}) after a first one\n"
    )
    results = []
    for setup, subsetter in jobs:
        command = [sys.executable, __file__, "--worker", setup, subsetter]
        command += ["--runs", str(args.runs), "--fonttools-runs", str(args.fonttools_runs)]
        done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
        if done.returncode != 0:
            print(f"{setup} / {subsetter} failed:\n{done.stderr}", file=sys.stderr)
            continue
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
        row = results[-1]
        print(f"  measured {setup:14} {subsetter:9} median {row['wall']:.3f} s", flush=True)

    if not results:
        sys.exit(1)
    first = results[0]
    print(
        f"\nForm: {first['pages']} A4 pages, {first['chars']} distinct characters "
        f"({first['cjk']} CJK ideographs); times in seconds\n"
    )
    header = ("setup", "subsetter", "import", "first", "median", "CPU", "PDF KB", "embedded fonts")
    print(f"{header[0]:14} {header[1]:9} {header[2]:>6} {header[3]:>6} {header[4]:>7} "
          f"{header[5]:>6} {header[6]:>7}  {header[7]}")  # fmt: skip
    for r in results:
        print(
            f"{r['setup']:14} {r['subsetter']:9} {r['import']:6.2f} {r['first']:6.2f} "
            f"{r['wall']:7.3f} {r['cpu']:6.3f} {r['size_kb']:7.0f}  {r['fonts']}"
        )
    print("\nSetups:")
    for name in setups:
        print(f"  {name:14} {SETUPS[name]}")
    print(f"\nPDFs written to {pdf.font_dir() / 'benchmark'}")


if __name__ == "__main__":
    main()
