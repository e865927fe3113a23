"""Temporary media (临时素材): upload a file, get a ``media_id`` valid three days.

Official docs: 上传临时素材 ``media/upload`` (path/90253) and 获取临时素材 ``media/get``
(path/90254). What those pages state and the sandbox keeps:

- ``POST media/upload?access_token=…&type=TYPE`` with a ``multipart/form-data`` body whose
  part ``media`` carries ``filename`` and ``content-type``; the answer is
  ``{"type": TYPE, "media_id": …, "created_at": "1380000000"}`` (created_at is a string).
- ``type`` is ``image``, ``voice``, ``video`` or ``file``; another is refused with 40004
  (不合法的媒体文件类型), as is a file the type does not accept: images are JPG or PNG,
  voice AMR, video MP4 (the sandbox reads the file's first bytes, not its name).
- Sizes: every file more than 5 bytes (40006 otherwise); image at most 10 MB (40009), voice
  2 MB (40010), video 10 MB (40011), file 20 MB (40006). No ``media`` part: 41005; an empty
  one: 44001 (空白的多媒体文件).
- A media_id is valid for 3 days from the upload (sandbox clock), then media/get and every
  message that names it refuse it (40007, 不合法的媒体文件id).
"""

from __future__ import annotations

from siyu.plugins.wecom.sandbox.endpoints.base import Call, FileAnswer, endpoint
from siyu.plugins.wecom.sandbox.errors import ApiError

MB = 1024 * 1024
#: type → (most bytes, errcode when larger)
SIZE_LIMITS = {"image": (10 * MB, 40009), "voice": (2 * MB, 40010),
               "video": (10 * MB, 40011), "file": (20 * MB, 40006)}
#: every file must be larger than this many bytes ("所有文件size必须大于5个字节")
MIN_BYTES = 5


def file_format(content: bytes) -> str:
    """``jpg``, ``png``, ``amr``, ``mp4`` or ``""`` (anything else), from the first bytes."""
    if content.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if content.startswith(b"#!AMR"):
        return "amr"
    if content[4:8] == b"ftyp":
        return "mp4"
    return ""


#: type → the formats it accepts (``None``: any)
FORMATS = {"image": ("jpg", "png"), "voice": ("amr",), "video": ("mp4",), "file": None}


@endpoint("media/upload")
def media_upload(call: Call) -> dict:
    """Keep an uploaded file as temporary media (path/90253)."""
    kind = call.query.get("type", "")
    if kind not in SIZE_LIMITS:
        raise ApiError(40004, f"type {kind!r}: use image, voice, video or file")
    parts = call.files.get("media") or []
    if not parts:
        raise ApiError(41005, "the multipart body has no 'media' part")
    part = parts[0]
    content = bytes(part.body)
    if not content:
        raise ApiError(44001)
    if len(content) <= MIN_BYTES:
        raise ApiError(40006, f"{len(content)} bytes: a file must be larger than {MIN_BYTES}")
    most, errcode = SIZE_LIMITS[kind]
    if len(content) > most:
        raise ApiError(errcode, f"{len(content)} bytes: {kind} allows at most {most}")
    formats = FORMATS[kind]
    if formats is not None and file_format(content) not in formats:
        raise ApiError(40004, f"{kind} must be {' or '.join(f.upper() for f in formats)}")
    media = call.world.add_media(kind, part.filename or "", part.content_type or "", content)
    return {"type": kind, "media_id": media.media_id, "created_at": str(int(media.created_at))}


@endpoint("media/get")
def media_get(call: Call) -> dict:
    """The file behind a media_id still valid (path/90254); errors stay JSON."""
    media_id = call.text("media_id", required=True, missing=40007)
    media = call.world.live_media(media_id)
    if media is None:
        raise ApiError(40007, f"media_id {media_id!r} is unknown or expired")
    return FileAnswer(media.content, media.content_type or "application/octet-stream",
                      media.filename or media.media_id)
