"""Checks every uploaded file passes before it is stored: request attachments now, task
deliverables later.

A file is accepted when its size is within `UPLOAD_MAX_BYTES`, its extension is on the
`UPLOAD_EXTENSIONS` allow-list, and its content really is what the extension says: a
`.pdf` must be a PDF, a `.png` a PNG, a `.docx` an Office Open XML package, a `.doc` an
OLE2 compound file with a Word stream, a `.txt` readable text. The magic numbers come
from `filetype`; the containers are opened with `zipfile` and `olefile` to see what
they hold. The browser's content type is never trusted: the stored one follows from
the checked extension.

The person's file name is only metadata: `filename_sanitise` makes it safe to show and
to offer as a download name, and files are stored under generated names by the models.
"""

from __future__ import annotations

import codecs
import mimetypes
import re
import unicodedata
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath

import filetype
import olefile
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.http import FileResponse, Http404
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from filetype.types import archive as filetype_archive

# The size cap and the accepted extensions are settings (UPLOAD_MAX_BYTES,
# UPLOAD_EXTENSIONS in collab/settings/base.py), read at every upload.
# Short enough for the models' 200-character name fields and for every file system.
MAX_FILENAME_LENGTH = 120
MAX_SUFFIX_LENGTH = 16
FALLBACK_STEM = "attachment"
HEAD_BYTES = 8192

CONTENT_TYPES = {
    "pdf": "application/pdf",
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xls": "application/vnd.ms-excel",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ppt": "application/vnd.ms-powerpoint",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "txt": "text/plain",
    "csv": "text/csv",
    "zip": "application/zip",
}
# What filetype may report for an extension (an animated PNG is still a .png).
SIGNATURE_MIMES = {
    "pdf": {"application/pdf"},
    "png": {"image/png", "image/apng"},
    "jpg": {"image/jpeg"},
    "jpeg": {"image/jpeg"},
    "gif": {"image/gif"},
}
# The folder inside an Office Open XML package that holds the document itself.
OOXML_PARTS = {"docx": "word/", "xlsx": "xl/", "pptx": "ppt/"}
# The stream inside an OLE2 compound file that holds the document (any one of them).
OLE_STREAMS = {
    "doc": {"worddocument"},
    "xls": {"workbook", "book"},
    "ppt": {"powerpoint document"},
}
TEXT_EXTENSIONS = {"txt", "csv"}
# UTF-8 (with or without BOM) first; cp950 is Windows' Big5 for Traditional Chinese.
TEXT_ENCODINGS = (("utf-8-sig", "utf-8"), ("cp950", "Big5"))

_RESERVED = re.compile(r'[<>:"|?*]')
_WHITESPACE = re.compile(r"\s+")
_ZIP = filetype_archive.Zip()


@dataclass(frozen=True)
class CheckedUpload:
    """What an accepted upload is: its safe display name, extension, type and size."""

    name: str
    extension: str
    content_type: str
    size: int


def max_upload_bytes() -> int:
    """Return the size limit for one uploaded file, read from settings at call time."""
    return int(settings.UPLOAD_MAX_BYTES)


def allowed_extensions() -> list[str]:
    """Return the allowed extensions (lower case, no dot), read from settings at call time."""
    configured: Iterable[str] = settings.UPLOAD_EXTENSIONS
    return [ext.lower().lstrip(".") for ext in configured]


def filename_sanitise(name: str, *, max_length: int = MAX_FILENAME_LENGTH) -> str:
    """Return a file name safe to show and to offer for download; never empty.

    Drops any directory part (with / or \\), control and invisible format characters
    (such as a right-to-left override that disguises an extension), the characters
    Windows reserves, and leading dots; collapses whitespace; keeps Chinese and other
    letters; shortens the stem so the whole fits `max_length`, keeping the extension.
    """
    name = unicodedata.normalize("NFC", str(name or ""))
    name = re.split(r"[/\\]", name)[-1]
    name = _WHITESPACE.sub(" ", name)  # tabs and newlines become spaces first
    name = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf", "Cs"))
    name = _RESERVED.sub("_", name)
    name = _WHITESPACE.sub(" ", name).strip()
    # Leading dots would hide the file or climb directories; trailing ones Windows drops.
    name = name.lstrip(". ").rstrip(". ")
    suffix = PurePosixPath(name).suffix if name else ""
    if len(suffix) > MAX_SUFFIX_LENGTH:
        suffix = ""  # not an extension, just a long name with a dot in it
    stem = name[: len(name) - len(suffix)].strip() or FALLBACK_STEM
    stem = stem[: max(1, max_length - len(suffix))].rstrip(". ") or FALLBACK_STEM
    return f"{stem}{suffix}"


def file_extension(name: str) -> str:
    """Return the lower-case extension of a file name without the dot ("" if none)."""
    return PurePosixPath(name).suffix.lower().lstrip(".")


def upload_validate(file: UploadedFile) -> CheckedUpload:
    """Check an uploaded file and return what it is; raise ValidationError if refused.

    The error codes are stable for callers and tests: "empty", "too_large",
    "extension", "mismatch".
    """
    name = filename_sanitise(file.name or "")
    extension = file_extension(name)
    size = file.size or 0
    if size <= 0:
        raise ValidationError(_("The file “%(name)s” is empty.") % {"name": name}, code="empty")
    limit = max_upload_bytes()
    if size > limit:
        raise ValidationError(
            _("The file “%(name)s” is %(size)s; files can be at most %(limit)s.")
            % {"name": name, "size": filesizeformat(size), "limit": filesizeformat(limit)},
            code="too_large",
        )
    allowed = allowed_extensions()
    if extension not in allowed:
        raise ValidationError(
            _("“%(name)s” cannot be uploaded: only these file types are allowed: %(extensions)s.")
            % {"name": name, "extensions": ", ".join(allowed)},
            code="extension",
        )
    charset = _content_check(file, extension)
    if charset is None:
        raise ValidationError(
            _(
                "The content of “%(name)s” does not match its extension .%(extension)s. "
                "Upload the original file without renaming it."
            )
            % {"name": name, "extension": extension},
            code="mismatch",
        )
    content_type = CONTENT_TYPES.get(extension) or (
        mimetypes.guess_type(f"x.{extension}")[0] or "application/octet-stream"
    )
    if charset:
        content_type = f"{content_type}; charset={charset}"
    return CheckedUpload(name=name, extension=extension, content_type=content_type, size=size)


# --- content sniffing ----------------------------------------------------------------


def _content_check(file: UploadedFile, extension: str) -> str | None:
    """Return None if the content disagrees with the extension; else the text charset
    for text files and "" for the others."""
    head = _head(file)
    try:
        if extension in TEXT_EXTENSIONS:
            return _text_charset(file)
        if extension in SIGNATURE_MIMES:
            kind = filetype.guess(head)
            return "" if kind is not None and kind.mime in SIGNATURE_MIMES[extension] else None
        if extension == "zip":
            return "" if _is_zip(file, head) else None
        if extension in OOXML_PARTS:
            return "" if _is_ooxml(file, head, OOXML_PARTS[extension]) else None
        if extension in OLE_STREAMS:
            return "" if _is_ole(file, head, OLE_STREAMS[extension]) else None
        return _other_check(head, extension)
    finally:
        file.seek(0)


def _head(file: UploadedFile) -> bytes:
    file.seek(0)
    head = file.read(HEAD_BYTES)
    file.seek(0)
    return head


def _is_zip(file: UploadedFile, head: bytes) -> bool:
    # It must start as a zip (not an executable with a zip appended) and have a
    # readable central directory.
    return bool(_ZIP.match(head)) and zipfile.is_zipfile(file)


def _is_ooxml(file: UploadedFile, head: bytes, part: str) -> bool:
    if not _is_zip(file, head):
        return False
    try:
        with zipfile.ZipFile(file) as package:
            names = package.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return False
    return "[Content_Types].xml" in names and any(n.startswith(part) for n in names)


def _is_ole(file: UploadedFile, head: bytes, streams: set[str]) -> bool:
    if not olefile.isOleFile(data=head if len(head) >= olefile.MINIMAL_OLEFILE_SIZE else b""):
        return False
    file.seek(0)
    try:
        with olefile.OleFileIO(file) as ole:
            found = {"/".join(entry).lower() for entry in ole.listdir()}
    except Exception:  # olefile raises many kinds on a malformed container: not a document
        return False
    return bool(found & streams)


def _text_charset(file: UploadedFile) -> str | None:
    """Return the charset a text file decodes with, or None if it is not text."""
    for codec, charset in TEXT_ENCODINGS:
        decoder = codecs.getincrementaldecoder(codec)()
        try:
            file.seek(0)
            for chunk in file.chunks():
                if b"\x00" in chunk:
                    return None  # NUL bytes: binary content, whatever it decodes as
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return charset
    return None


def _other_check(head: bytes, extension: str) -> str | None:
    """Check an extension a site added to the allow-list without a rule of its own.

    If filetype knows the extension, the content must be of that type; otherwise the
    content must at least not be a known type of another kind (an executable...).
    """
    kind = filetype.guess(head)
    if filetype.get_type(ext=extension) is not None:
        return "" if kind is not None and kind.extension == extension else None
    return "" if kind is None else None


def download_response(stored) -> FileResponse:
    """Return a stored upload (a row with `file`, `original_name` and `content_type`) as
    a download; 404 when its file is gone. The caller has checked who may see it."""
    try:
        handle = stored.file.storage.open(stored.file.name, "rb")
    except FileNotFoundError as exc:
        raise Http404 from exc
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=stored.original_name,
        content_type=stored.content_type or "application/octet-stream",
    )
    # Never let a browser reinterpret an upload (an "image" that is really HTML...).
    response["X-Content-Type-Options"] = "nosniff"
    return response
