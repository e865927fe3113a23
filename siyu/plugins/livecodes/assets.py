"""Printable assets of a live code: its QR image as PNG or SVG, a poster, a ZIP of many.

The QR encodes the code's ``qr_url`` (the ``qr_code`` link WeCom returns for the 「联系我」),
so a printed image keeps working while the code's member list changes. Print sizes are in
millimetres: a PNG of ``size_mm`` at ``dpi`` is exactly ``round(size_mm / 25.4 * dpi)``
pixels wide, the modules drawn at a whole number of pixels each (crisp edges for printers)
and any rest added to the white quiet zone.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable
from typing import TYPE_CHECKING

import segno
from PIL import Image, UnidentifiedImageError

from siyu.core.errors import ValidationError
from siyu.core.i18n import translator

if TYPE_CHECKING:  # pragma: no cover
    from siyu.core.workspace import Workspace

_ = translator("siyu.plugins.livecodes")

__all__ = ["FORMATS", "codes_zip", "poster_png", "qr_png", "qr_svg"]

FORMATS = ("png", "svg")
MIN_SIZE_MM, MAX_SIZE_MM = 10, 500
MIN_DPI, MAX_DPI = 72, 1200
#: Quiet zone in modules, as the QR standard asks.
BORDER = 4
#: The logo's white square, as a share of the symbol width; error level H restores up to
#: 30 % of the modules, so a square of 22 % of the width (about 5 % of the area) is safe.
LOGO_SHARE = 0.22
MM_PER_INCH = 25.4


def _check_url(url: str) -> str:
    if not url or not str(url).strip():
        raise ValidationError(_("this live code has no QR url (WeCom gave no qr_code); "
                                "recreate the code"))
    return str(url).strip()


def _check_size(size_mm: float) -> float:
    if not MIN_SIZE_MM <= size_mm <= MAX_SIZE_MM:
        raise ValidationError(_("QR size {size} mm is out of range; use {low}-{high} mm",
                                size=size_mm, low=MIN_SIZE_MM, high=MAX_SIZE_MM))
    return float(size_mm)


def _open_image(data: bytes, what: str) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError, ValueError, TypeError) as exc:
        raise ValidationError(f"the {what} is not an image Pillow can read (PNG, JPEG, …); "
                              "upload a picture file") from exc
    return image


def _symbol(url: str, error: str) -> segno.QRCode:
    return segno.make(url, error=error, micro=False, boost_error=False)


def _qr_image(url: str, px: int, *, logo: bytes | None = None) -> Image.Image:
    """The QR of ``url`` as an RGB image exactly ``px`` pixels square."""
    qr = _symbol(url, "h" if logo is not None else "m")
    modules = qr.symbol_size(scale=1, border=BORDER)[0]
    scale = px // modules
    if scale < 1:
        raise ValidationError(f"{px} px is too small for this QR code ({modules} modules); "
                              "choose a larger size or dpi")
    buffer = io.BytesIO()
    qr.save(buffer, kind="png", scale=scale, border=BORDER)
    drawn = Image.open(buffer).convert("RGB")
    image = Image.new("RGB", (px, px), "white")
    offset = (px - drawn.width) // 2
    image.paste(drawn, (offset, offset))
    if logo is not None:
        mark = _open_image(logo, "logo").convert("RGBA")
        square = max(1, round((modules - 2 * BORDER) * scale * LOGO_SHARE))
        pad = max(1, square // 10)
        mark.thumbnail((square - 2 * pad, square - 2 * pad))
        corner = (px - square) // 2
        image.paste(Image.new("RGB", (square, square), "white"), (corner, corner))
        image.paste(mark, (corner + (square - mark.width) // 2,
                           corner + (square - mark.height) // 2), mark)
    return image


def qr_png(url: str, *, size_mm: float = 50, dpi: int = 300, logo: bytes | None = None
           ) -> bytes:
    """A print-ready PNG of the QR code for ``url``.

    :param url: the code's ``qr_url``.
    :param size_mm: printed width (and height) in millimetres, 10-500.
    :param dpi: print resolution, 72-1200; the PNG carries it as its dpi.
    :param logo: an image (PNG, JPEG, …) pasted in the centre on a white square; the QR then
        uses error correction level H so it still scans.
    :return: PNG bytes, ``round(size_mm / 25.4 * dpi)`` pixels square.
    :raises ValidationError: no url, a size or dpi out of range, a logo that isn't an image.
    """
    url, size_mm = _check_url(url), _check_size(size_mm)
    if not MIN_DPI <= dpi <= MAX_DPI:
        raise ValidationError(_("dpi {dpi} is out of range; use {low}-{high}", dpi=dpi,
                                low=MIN_DPI, high=MAX_DPI))
    px = round(size_mm / MM_PER_INCH * dpi)
    out = io.BytesIO()
    _qr_image(url, px, logo=logo).save(out, format="PNG", dpi=(dpi, dpi))
    return out.getvalue()


def qr_svg(url: str, *, size_mm: float = 50) -> bytes:
    """The QR code for ``url`` as SVG, ``size_mm`` millimetres square.

    The drawing is in module units (``viewBox="0 0 n n"`` with ``n`` the module count
    including the quiet zone), so it scales without blur to any print size.

    :raises ValidationError: no url, a size out of range.
    """
    url, size_mm = _check_url(url), _check_size(size_mm)
    qr = _symbol(url, "m")
    n = qr.symbol_size(scale=1, border=BORDER)[0]
    buffer = io.BytesIO()
    qr.save(buffer, kind="svg", scale=1, border=BORDER, xmldecl=False)
    text = buffer.getvalue().decode("utf-8")
    sized = f'width="{size_mm:g}mm" height="{size_mm:g}mm" viewBox="0 0 {n} {n}"'
    text = text.replace(f'width="{n}" height="{n}"', sized, 1)
    return ('<?xml version="1.0" encoding="utf-8"?>\n' + text).encode("utf-8")


def poster_png(url: str, background: bytes, *, box: tuple[int, int, int] | None = None
               ) -> bytes:
    """A poster: the QR code for ``url`` drawn onto the ``background`` image.

    :param background: the poster design (PNG, JPEG, …); the result keeps its size.
    :param box: ``(x, y, size_px)`` — the QR's top-left corner and width in background
        pixels; default a square of 40 % of the shorter side, centred.
    :return: PNG bytes.
    :raises ValidationError: no url, a background that isn't an image, a box that does not
        fit inside the background.
    """
    url = _check_url(url)
    poster = _open_image(background, "background").convert("RGB")
    if box is None:
        size = round(min(poster.size) * 0.4)
        box = ((poster.width - size) // 2, (poster.height - size) // 2, size)
    x, y, size = (int(v) for v in box)
    if x < 0 or y < 0 or size < 1 or x + size > poster.width or y + size > poster.height:
        raise ValidationError(f"QR box {tuple(box)} does not fit a {poster.width}x"
                              f"{poster.height} background; give (x, y, size_px) inside it")
    poster.paste(_qr_image(url, size), (x, y))
    out = io.BytesIO()
    poster.save(out, format="PNG")
    return out.getvalue()


def _filename(code_id: int, name: str, fmt: str) -> str:
    safe = re.sub(r'[\\/:*?"<>|\s]+', "_", name).strip("._") or "code"
    return f"{code_id}-{safe}.{fmt}"


def codes_zip(ws: Workspace, code_ids: Iterable[int | str], *, fmt: str = "png",
              size_mm: float = 50) -> bytes:
    """A ZIP with one QR image per code, named ``<id>-<name>.png`` (or ``.svg``) — the bulk
    export for store codes.

    :param code_ids: code ids or states.
    :param fmt: ``png`` (300 dpi) or ``svg``.
    :raises ValidationError: an unknown format, a size out of range, a code that is deleted
        or has no QR url (nothing is written then).
    :raises NotFound: an unknown code.
    """
    from siyu.plugins.livecodes.api import get_code

    if fmt not in FORMATS:
        raise ValidationError(f"unknown format {fmt!r}; use {' or '.join(FORMATS)}")
    _check_size(size_mm)
    files: dict[str, bytes] = {}
    for ref in dict.fromkeys(code_ids):
        code = get_code(ws, ref)
        if code["status"] == "deleted":
            raise ValidationError(f"live code {code['state']} ({code['name']}) is deleted; "
                                  "its QR no longer works")
        if not code["qr_url"]:
            raise ValidationError(f"live code {code['state']} ({code['name']}) has no QR url")
        files[_filename(code["id"], code["name"], fmt)] = (
            qr_png(code["qr_url"], size_mm=size_mm) if fmt == "png"
            else qr_svg(code["qr_url"], size_mm=size_mm))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()
