"""Build the CJK font that every PDF uses (run by `make install`; safe to run again).

Reads Noto Sans CJK TC Regular and Bold from the Debian package fonts-noto-cjk
(/usr/share/fonts/opentype/noto/NotoSansCJK-{Regular,Bold}.ttc) and writes two TrueType
files into settings.PDF_FONT_DIR (default var/fonts), named in collab.pdf.FONT_FILES:

* only the Traditional Chinese face of the collection, with its own character map, so
  characters take the Taiwanese standard forms;
* every character that face has except Hangul: all CJK ideographs (URO, Ext. A, the
  Ext. B and later ones the font has, compatibility ideographs), Bopomofo, kana, Latin,
  Greek, Cyrillic, punctuation, full-width forms and symbols. Big5 alone is not enough:
  name characters such as 喆 堃 犇 峯 煊 綉 are outside Big5;
* the layout features kept are fontTools' defaults minus "locl" (whose only use here
  would be the Japanese/Korean/Simplified variants);
* the CFF outlines become TrueType (quadratic) ones, within 1 unit of 1,000 per em.

WeasyPrint subsets such a font for each PDF in ~0.2 s (~1 s even without HarfBuzz-Subset)
instead of ~0.25 s (~7 s) for the packaged 20 MB collection; see benchmarks/pdf_fonts.py.
A file is rebuilt only when it is missing, older than its source or built from another
source file (a stamp beside it records the source's path, size and time; dpkg keeps the
packaged times, so an upgraded package can be older than a font built from its
predecessor), or with --force.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from collab.pdf import FONT_FILES, font_dir

DEBIAN_PACKAGE = "fonts-noto-cjk"
FAMILY = "Noto Sans CJK TC"
SOURCE_FILES = {400: "NotoSansCJK-Regular.ttc", 700: "NotoSansCJK-Bold.ttc"}
SOURCE_DIRS = [
    Path("/usr/share/fonts/opentype/noto"),  # Debian and Ubuntu: fonts-noto-cjk
    Path("/usr/share/fonts/noto-cjk"),  # Arch, Fedora
    Path("/usr/share/fonts/google-noto-cjk"),
]
# Every built font must have these (checked after the build).
REQUIRED_TEXT = (
    "跨部門協作需求申請表需求背景協作部門市場部技術部預期成果簽名第頁共"
    "喆堃犇峯煊綉裏着為麼臺灣ㄅㄆㄇ"
    "ABCxyz0123456789.,:;!?@#%&()[]/-+=<>"
    "，。、；：？！（）「」『』【】《》〈〉…—～　①②③℃№ⅠⅡ□■○●✓"
)
MAX_ERROR = 1.0  # font units (of 1,000 per em) allowed between cubic and quadratic curves


def _is_hangul(codepoint: int) -> bool:
    return (
        0x1100 <= codepoint <= 0x11FF
        or 0x3130 <= codepoint <= 0x318F
        or 0xA960 <= codepoint <= 0xA97F
        or 0xAC00 <= codepoint <= 0xD7FF
    )


def _face_index(source: Path, family: str) -> int:
    from fontTools.ttLib import TTCollection

    with source.open("rb") as file:
        if file.read(4) != b"ttcf":
            return -1
    collection = TTCollection(str(source), lazy=True)
    try:
        for index, face in enumerate(collection.fonts):
            name = face["name"]
            if family in (name.getDebugName(16), name.getDebugName(1)):
                return index
    finally:
        collection.close()
    raise CommandError(f"{source} has no face named {family!r}")


def build_font(source: Path, output: Path, family: str = FAMILY) -> int:
    """Write the TrueType subset of one face of `source` to `output`; return its glyphs.

    Runs in a worker process: fontTools only, no Django.
    """
    from fontTools import subset
    from fontTools.pens.cu2quPen import Cu2QuPen
    from fontTools.pens.ttGlyphPen import TTGlyphPen
    from fontTools.ttLib import TTFont, newTable
    from fontTools.ttLib.tables._g_l_y_f import Glyph

    font = TTFont(str(source), fontNumber=_face_index(source, family))
    if "CFF " not in font:
        raise CommandError(f"{source}: expected CFF outlines")
    glyph_order = font.getGlyphOrder()
    cff = font["CFF "].cff
    charstrings = cff[cff.fontNames[0]].CharStrings

    # Put an empty glyf table in place of CFF first: fontTools' CFF subsetter would spend
    # ~50 s reading all 65,535 charstrings; with glyf the subsetting takes ~1 s, and only
    # the glyphs kept are drawn from CFF below.
    glyf = newTable("glyf")
    glyf.glyphOrder = glyph_order
    glyf.glyphs = {name: Glyph() for name in glyph_order}
    font["glyf"] = glyf
    font["loca"] = newTable("loca")
    del font["CFF "]
    if "VORG" in font:
        del font["VORG"]
    font.sfntVersion = "\x00\x01\x00\x00"
    maxp = font["maxp"]
    maxp.tableVersion = 0x00010000
    for field in [
        "maxPoints",
        "maxContours",
        "maxCompositePoints",
        "maxCompositeContours",
        "maxTwilightPoints",
        "maxStorage",
        "maxFunctionDefs",
        "maxInstructionDefs",
        "maxStackElements",
        "maxSizeOfInstructions",
        "maxComponentElements",
        "maxComponentDepth",
    ]:
        setattr(maxp, field, 0)  # maxp 1.0 fields, recomputed from glyf on save
    maxp.maxZones = 1
    font["post"].formatType = 3.0

    options = subset.Options()
    options.layout_features = [tag for tag in options.layout_features if tag != "locl"]
    options.name_IDs = ["*"]  # keep copyright and licence (SIL OFL 1.1) records
    options.name_languages = ["*"]
    options.notdef_outline = True
    options.hinting = False
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=[cp for cp in font.getBestCmap() if not _is_hangul(cp)])
    subsetter.subset(font)

    glyf = font["glyf"]
    for name in font.getGlyphOrder():
        pen = TTGlyphPen(None)
        charstrings[name].draw(Cu2QuPen(pen, MAX_ERROR, reverse_direction=True))
        glyf[name] = pen.glyph()

    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(f".{output.name}.{os.getpid()}.tmp")
    try:
        font.save(str(partial))
        _check(partial)
        partial.replace(output)
    finally:
        partial.unlink(missing_ok=True)
    return len(font.getGlyphOrder())


def _check(path: Path) -> None:
    from fontTools.ttLib import TTFont

    font = TTFont(str(path))
    cmap = font.getBestCmap()
    missing = sorted({c for c in REQUIRED_TEXT if ord(c) not in cmap})
    if "glyf" not in font or missing:
        raise CommandError(f"{path}: bad build (missing characters: {''.join(missing)})")


def _stamp_path(output: Path) -> Path:
    return output.with_name(f".{output.name}.source")


def _source_stamp(source: Path) -> str:
    stat = source.stat()
    return f"{source.resolve()} {stat.st_size} {stat.st_mtime_ns}\n"


def is_up_to_date(source: Path, output: Path) -> bool:
    stamp = _stamp_path(output)
    return (
        output.is_file()
        and output.stat().st_mtime >= source.stat().st_mtime
        and stamp.is_file()
        and stamp.read_text() == _source_stamp(source)
    )


def find_source(file_name: str, source_dir: Path | None) -> Path:
    folders = [source_dir] if source_dir else SOURCE_DIRS
    for folder in folders:
        if (folder / file_name).is_file():
            return folder / file_name
    raise CommandError(
        f"{file_name} not found in {', '.join(str(f) for f in folders)}. Install the Debian "
        f"package {DEBIAN_PACKAGE} (make install does), or pass --source-dir."
    )


class Command(BaseCommand):
    help = "Build the CJK font for PDFs into PDF_FONT_DIR from fonts-noto-cjk (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="rebuild even if up to date")
        parser.add_argument(
            "--source-dir", type=Path, help="folder with NotoSansCJK-{Regular,Bold}.ttc"
        )
        parser.add_argument("--jobs", type=int, default=min(len(FONT_FILES), os.cpu_count() or 1))

    def handle(self, *args, force=False, source_dir=None, jobs=1, **options):
        target_dir = font_dir()
        todo = []
        for weight, file_name in FONT_FILES.items():
            source = find_source(SOURCE_FILES[weight], source_dir)
            output = target_dir / file_name
            if not force and is_up_to_date(source, output):
                if options["verbosity"] >= 2:
                    self.stdout.write(f"{output} is up to date")
                continue
            todo.append((source, output))
        if not todo:
            return

        started = time.monotonic()
        for source, output in todo:
            self.stdout.write(f"Building {output} from {source} ...")
        if jobs > 1 and len(todo) > 1:
            with ProcessPoolExecutor(max_workers=min(jobs, len(todo))) as pool:
                futures = [pool.submit(build_font, source, output) for source, output in todo]
                glyphs = [future.result() for future in futures]
        else:
            glyphs = [build_font(source, output) for source, output in todo]
        for (source, output), count in zip(todo, glyphs, strict=True):
            _stamp_path(output).write_text(_source_stamp(source))
            size = output.stat().st_size / 1e6
            self.stdout.write(f"Built {output} ({count} glyphs, {size:.1f} MB)")
        self.stdout.write(f"PDF font ready in {time.monotonic() - started:.0f} s.")
