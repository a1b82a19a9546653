"""Shared PDF helper: a Django template rendered to HTML, then to PDF with WeasyPrint.

Fonts. Every PDF uses one CJK font, "Noto Sans CJK TC" (Regular and Bold), as TrueType
files made at install time by ``manage.py build_pdf_font`` (``make install``) from the
Debian package fonts-noto-cjk and kept in ``settings.PDF_FONT_DIR`` (default
``var/fonts``). The build keeps the Traditional Chinese face only and every character it
has except Hangul (all CJK ideographs incl. Ext. A/B, Bopomofo, kana, Latin, punctuation,
symbols), so names and business text never show tofu, and converts the CFF outlines to
TrueType ones. Why: WeasyPrint subsets the font embedded in every PDF; for the packaged
OpenType collection (20 MB, 65,535 CFF glyphs) that costs ~0.25 s with HarfBuzz-Subset and
~7 s where WeasyPrint falls back to fontTools (no libharfbuzz-subset0), against ~0.19 s
and ~1 s for the prepared TrueType file, whose PDFs are also ~4x smaller
(benchmarks/pdf_fonts.py measures all of this again).

Speed. One WeasyPrint FontConfiguration and the @font-face stylesheet are built once per
process and reused (renders are serialised by a lock: Pango/fontconfig objects are not
shared safely between threads, and rendering is CPU-bound Python anyway).

Resources. Nothing is fetched over the network: URLs under STATIC_URL are read from the
static files on disk, ``data:`` URLs are allowed, ``file:`` URLs only inside the font
folder; anything else is refused (and left out of the PDF).
"""

from __future__ import annotations

import atexit
import logging
import mimetypes
import threading
import unicodedata
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import weasyprint
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils._os import safe_join
from django.utils.cache import patch_cache_control
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

logger = logging.getLogger(__name__)

#: The CSS font family of the PDF font; templates/pdf and static/css/pdf.css use it.
FONT_FAMILY = "Collab Noto Sans CJK TC"

#: Files made by ``manage.py build_pdf_font``: CSS font-weight -> file name in
#: PDF_FONT_DIR. The version suffix changes whenever the build recipe changes, so an
#: old build is never taken for a new one.
FONT_FILES = {
    400: "NotoSansCJKtc-Regular.collab-v1.ttf",
    700: "NotoSansCJKtc-Bold.collab-v1.ttf",
}

# WeasyPrint options for every PDF. full_fonts stays off (the whole 11 MB font would go
# into each PDF) and hinting too (the prepared fonts have none; viewers do not need it).
WRITE_OPTIONS = {"full_fonts": False, "hinting": False}

_lock = threading.RLock()
_cache: dict = {"key": None, "font_config": None, "stylesheets": None}
_warned_about_harfbuzz = False


def font_dir() -> Path:
    """The folder with the prepared PDF fonts (read from settings at every call)."""
    return Path(getattr(settings, "PDF_FONT_DIR", Path(settings.BASE_DIR) / "var" / "fonts"))


def font_paths() -> dict[int, Path]:
    """The prepared font files by CSS weight; a clear error when they were never built."""
    folder = font_dir()
    paths = {weight: folder / name for weight, name in FONT_FILES.items()}
    missing = [str(path) for path in paths.values() if not path.is_file()]
    if missing:
        raise ImproperlyConfigured(
            "The PDF font is missing: "
            + ", ".join(missing)
            + ". Run `make install` (or `python manage.py build_pdf_font`, which needs the "
            "Debian package fonts-noto-cjk) to build it into PDF_FONT_DIR."
        )
    return paths


def font_face_css(paths: dict[int, Path]) -> str:
    """@font-face rules that load the prepared font files by file URL."""
    rules = [
        f'@font-face {{ font-family: "{FONT_FAMILY}"; font-style: normal; '
        f'font-weight: {weight}; src: url("{path.as_uri()}") format("truetype"); }}'
        for weight, path in sorted(paths.items())
    ]
    return "\n".join(rules) + "\n"


def harfbuzz_subset_available() -> bool:
    """Whether WeasyPrint found libharfbuzz-subset (else font subsetting is ~5x slower)."""
    try:
        from weasyprint.text.ffi import harfbuzz_subset
    except ImportError:  # pragma: no cover - WeasyPrint moved it; assume the fast path
        return True
    return harfbuzz_subset is not None


def _warn_once_without_harfbuzz_subset() -> None:
    # WeasyPrint logs this itself, but settings keep the "weasyprint" logger at ERROR.
    global _warned_about_harfbuzz
    if not _warned_about_harfbuzz and not harfbuzz_subset_available():
        _warned_about_harfbuzz = True
        logger.warning(
            "libharfbuzz-subset is not installed: WeasyPrint subsets PDF fonts with "
            "fontTools, which is several times slower. Install the Debian package "
            "libharfbuzz-subset0 (make install)."
        )


class PortalURLFetcher(URLFetcher):
    """Serve static files from disk and refuse every network or arbitrary file access."""

    def __init__(self, allowed_dirs: list[Path]):
        super().__init__(allowed_protocols=("data", "file", "http", "https"))
        self.allowed_dirs = [path.resolve() for path in allowed_dirs]
        static_url = settings.STATIC_URL or "/static/"
        if not urlsplit(static_url).scheme and not static_url.startswith("/"):
            static_url = "/" + static_url
        self.static_url = static_url

    def fetch(self, url, headers=None):
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme == "data":
            return super().fetch(url, headers)
        if scheme in ("http", "https"):
            static_url = self.static_url
            if urlsplit(static_url).scheme:  # STATIC_URL on another host (a CDN)
                prefix, target = static_url, url.split("?")[0].split("#")[0]
            else:
                prefix, target = static_url, parts.path
            if target.startswith(prefix):
                return self._static_response(url, unquote(target[len(prefix) :]))
        elif scheme == "file":
            path = Path(unquote(parts.path)).resolve()
            if any(path.is_relative_to(folder) for folder in self.allowed_dirs):
                return super().fetch(url, headers)
        raise ValueError(f"PDF rendering fetches only static files, not {url}")

    def _static_response(self, url: str, relative: str) -> URLFetcherResponse:
        found = finders.find(relative)
        if not found and settings.STATIC_ROOT:
            candidate = Path(safe_join(str(settings.STATIC_ROOT), relative))
            found = str(candidate) if candidate.is_file() else None
        if not found:
            raise FileNotFoundError(f"No static file {relative!r} for the PDF")
        mime_type = mimetypes.guess_type(found)[0] or "application/octet-stream"
        return URLFetcherResponse(url, Path(found).read_bytes(), {"Content-Type": mime_type})


def _rendering_setup() -> tuple[FontConfiguration, list[weasyprint.CSS], PortalURLFetcher]:
    """The per-process font configuration and font stylesheet (call with _lock held)."""
    paths = font_paths()
    fetcher = PortalURLFetcher([font_dir()])
    key = (
        tuple((str(path), path.stat().st_mtime_ns) for path in paths.values()),
        fetcher.static_url,
    )
    if _cache["key"] != key:
        font_config = FontConfiguration()
        font_css = weasyprint.CSS(
            string=font_face_css(paths), font_config=font_config, url_fetcher=fetcher
        )
        _cache.update(key=key, font_config=font_config, stylesheets=[font_css])
    return _cache["font_config"], _cache["stylesheets"], fetcher


def clear_cache() -> None:
    """Forget the cached font configuration (its temporary font copies go with it)."""
    with _lock:
        _cache.update(key=None, font_config=None, stylesheets=None)


atexit.register(clear_cache)


def _base_url(request) -> str:
    if request is not None:
        return request.build_absolute_uri("/")
    return getattr(settings, "SITE_URL", "http://localhost").rstrip("/") + "/"


def render_pdf(template_name: str, context: dict, *, request=None) -> bytes:
    """Render a template (normally extending pdf/base.html) to PDF bytes; every printed
    form says when it was printed (`printed_at`, now unless the context gives it)."""
    context = {
        "PORTAL_NAME": settings.PORTAL_NAME,
        "pdf_font_family": FONT_FAMILY,
        "printed_at": timezone.localtime(),
        **context,
    }
    html = render_to_string(template_name, context, request=request)
    _warn_once_without_harfbuzz_subset()
    with _lock:
        font_config, stylesheets, fetcher = _rendering_setup()
        document = weasyprint.HTML(string=html, base_url=_base_url(request), url_fetcher=fetcher)
        return document.write_pdf(stylesheets=stylesheets, font_config=font_config, **WRITE_OPTIONS)


def _ascii_filename(stem: str) -> str:
    """An ASCII-only stand-in for clients that ignore filename* (very old ones)."""
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    ascii_stem = "".join(c if c.isalnum() or c in "._-" else "_" for c in ascii_stem)
    ascii_stem = "_".join(part for part in ascii_stem.split("_") if part).strip("._-")
    return f"{ascii_stem or 'document'}.pdf"


def pdf_response(pdf_bytes: bytes, filename: str) -> HttpResponse:
    """An inline application/pdf response; the file name may be Chinese (RFC 5987/6266).

    Every PDF is a case's or the company's data printed for one reader: like the
    attachment downloads, it is never kept by the browser's or a proxy's cache
    (Cache-Control: private, no-store).
    """
    name = Path(filename.replace("\\", "/")).name
    name = "".join(c for c in name if c.isprintable()) or "document.pdf"
    if not name.lower().endswith(".pdf"):
        name += ".pdf"
    response = HttpResponse(pdf_bytes, content_type="application/pdf")
    response["Content-Disposition"] = (
        f'inline; filename="{_ascii_filename(name[:-4])}"; '
        f"filename*=UTF-8''{quote(name, safe='')}"
    )
    response["Content-Length"] = str(len(pdf_bytes))
    patch_cache_control(response, private=True, no_store=True)
    return response


__all__ = [
    "FONT_FAMILY",
    "FONT_FILES",
    "font_dir",
    "font_paths",
    "harfbuzz_subset_available",
    "pdf_response",
    "render_pdf",
]
