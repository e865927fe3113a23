"""QR images, posters and the bulk ZIP of live codes: pure functions, then codes from the
sandbox on both engines."""

import io
import re
import zipfile

import pytest
import segno
from PIL import Image

from siyu.core.errors import NotFound, ValidationError
from siyu.plugins.livecodes import api
from siyu.plugins.livecodes.assets import codes_zip, poster_png, qr_png, qr_svg

URL = "https://wework.qq.com/q/02abcDEF123"


def image(data):
    return Image.open(io.BytesIO(data)).convert("RGB")


def colours(img):
    """The set of colours in ``img``."""
    return {colour for _count, colour in img.getcolors(img.width * img.height)}


def picture(color, size=(60, 60), fmt="PNG"):
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format=fmt)
    return out.getvalue()


# -- PNG ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("size_mm", "dpi", "px"), [(50, 300, 591), (10, 300, 118),
                                                    (80, 150, 472), (500, 72, 1417)])
def test_png_is_size_mm_at_dpi(size_mm, dpi, px):
    data = qr_png(URL, size_mm=size_mm, dpi=dpi)
    with Image.open(io.BytesIO(data)) as img:
        assert img.format == "PNG"
        assert img.size == (px, px)
        assert round(img.info["dpi"][0]) == dpi


def test_png_is_black_modules_on_a_white_quiet_zone():
    img = image(qr_png(URL))
    assert img.getpixel((0, 0)) == (255, 255, 255)
    assert colours(img) == {(0, 0, 0), (255, 255, 255)}


def test_a_logo_sits_in_the_centre_on_a_white_square():
    img = image(qr_png(URL, logo=picture((220, 30, 30))))
    middle = img.width // 2
    assert img.getpixel((middle, middle)) == (220, 30, 30)
    around = colours(img.crop((middle - 40, middle - 40, middle + 40, middle + 40)))
    assert (255, 255, 255) in around  # the white square around the logo


@pytest.mark.parametrize("size_mm", [9.9, 0, 501])
def test_sizes_out_of_range_are_refused(size_mm):
    with pytest.raises(ValidationError, match="10-500 mm"):
        qr_png(URL, size_mm=size_mm)
    with pytest.raises(ValidationError, match="10-500 mm"):
        qr_svg(URL, size_mm=size_mm)


def test_a_dpi_out_of_range_is_refused():
    with pytest.raises(ValidationError, match="dpi 10"):
        qr_png(URL, dpi=10)


@pytest.mark.parametrize("url", ["", "   "])
def test_a_missing_url_is_refused(url):
    with pytest.raises(ValidationError, match="no QR url"):
        qr_png(url)


def test_a_logo_that_is_not_an_image_is_refused():
    with pytest.raises(ValidationError, match="logo is not an image"):
        qr_png(URL, logo=b"not a picture")


# -- SVG ------------------------------------------------------------------------------------

def test_svg_is_size_mm_with_the_module_count_as_its_viewbox():
    modules = segno.make(URL, error="m", boost_error=False).symbol_size(border=4)[0]
    text = qr_svg(URL, size_mm=35).decode()
    assert text.startswith("<?xml")
    assert f'width="35mm" height="35mm" viewBox="0 0 {modules} {modules}"' in text
    assert re.search(r"<path [^>]*d=\"M", text)


# -- poster ---------------------------------------------------------------------------------

def test_poster_puts_the_qr_in_its_box_and_keeps_the_background():
    poster = image(poster_png(URL, picture((10, 120, 200), size=(600, 900)),
                              box=(300, 600, 250)))
    assert poster.size == (600, 900)
    assert poster.getpixel((10, 10)) == (10, 120, 200)
    assert poster.getpixel((301, 601)) == (255, 255, 255)  # the quiet zone
    qr = colours(poster.crop((300, 600, 550, 850)))
    assert qr == {(0, 0, 0), (255, 255, 255)}
    assert poster.getpixel((560, 860)) == (10, 120, 200)


def test_poster_centres_the_qr_by_default_and_reads_jpeg():
    poster = image(poster_png(URL, picture((200, 200, 0), size=(500, 300), fmt="JPEG")))
    assert poster.size == (500, 300)
    assert poster.getpixel((250, 150)) in {(0, 0, 0), (255, 255, 255)}


def test_a_background_that_is_not_an_image_is_refused():
    with pytest.raises(ValidationError, match="background is not an image"):
        poster_png(URL, b"%PDF-1.4 not a picture")


def test_a_box_outside_the_background_is_refused():
    with pytest.raises(ValidationError, match="does not fit a 200x200 background"):
        poster_png(URL, picture("white", size=(200, 200)), box=(100, 100, 150))


# -- codes from the sandbox -----------------------------------------------------------------

def test_a_sandbox_code_exports_as_png_and_svg(wired):
    staff = wired.hire("a1")
    code = api.create_code(wired.ws, "海报", staff)
    assert code["qr_url"]
    with Image.open(io.BytesIO(qr_png(code["qr_url"], size_mm=30, dpi=600))) as img:
        assert img.size == (709, 709)
    assert b'width="30mm"' in qr_svg(code["qr_url"], size_mm=30)


@pytest.mark.parametrize(("fmt", "magic"), [("png", b"\x89PNG"), ("svg", b"<?xml")])
def test_zip_holds_one_file_per_code_named_id_and_name(wired, fmt, magic):
    staff = wired.hire("z1", "z2")
    first = api.create_code(wired.ws, "上海 南京西路/店", staff)
    second = api.create_code(wired.ws, "北京三里屯", staff[1:])
    data = codes_zip(wired.ws, [first["id"], second["state"]], fmt=fmt, size_mm=20)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.namelist() == [f"{first['id']}-上海_南京西路_店.{fmt}",
                                      f"{second['id']}-北京三里屯.{fmt}"]
        assert all(archive.read(n).startswith(magic) for n in archive.namelist())


def test_zip_refuses_an_unknown_format_a_deleted_code_and_an_unknown_code(wired):
    staff = wired.hire("d1")
    code = api.create_code(wired.ws, "旧海报", staff)
    with pytest.raises(ValidationError, match="unknown format 'pdf'"):
        codes_zip(wired.ws, [code["id"]], fmt="pdf")
    with pytest.raises(ValidationError, match="10-500 mm"):
        codes_zip(wired.ws, [code["id"]], size_mm=600)
    with pytest.raises(NotFound):
        codes_zip(wired.ws, [9999])
    api.delete_code(wired.ws, code["id"])
    with pytest.raises(ValidationError, match="is deleted"):
        codes_zip(wired.ws, [code["id"]])
