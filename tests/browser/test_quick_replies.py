"""The Quick replies page (话术库) in Chromium, in Chinese: an operator adds a text reply and
an image reply (previewed before saving) from the page and sees both in the table; the page
fits 1440 and 390 px wide. Screenshots go to ``/tmp/shots/quick_replies_*.png``."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest

from .conftest import login_as, new_workspace, serve_console, shown_text, wait_until

SHOTS = Path("/tmp/shots")


def tiny_png(width: int = 40, height: int = 24) -> bytes:
    """A real PNG: an orange rectangle."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    rows = b"".join(b"\x00" + b"\xff\x8c\x00" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2,
                                                               0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


@pytest.fixture
def replies_console(tmp_path):
    """A console speaking its default language (Chinese) on an empty workspace."""
    db = new_workspace(tmp_path / "shop.db")
    with serve_console(db, environ={"SIYU_LANGUAGE": None}) as running:
        yield running


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SHOTS / f"quick_replies_{name}.png"), full_page=True)


def shows(page, selector: str, text: str, timeout: float = 30) -> None:
    wait_until(lambda: text in shown_text(page.locator(selector)), page=page,
               timeout=timeout)


def type_into(page, selector: str, text: str) -> None:
    box = page.locator(selector).first
    box.fill(text)
    box.press("Tab")


def test_an_operator_adds_a_text_and_an_image_reply(page, replies_console, tmp_path):
    console = replies_console
    page.set_viewport_size({"width": 1440, "height": 900})
    login_as(page, console, "operator")
    page.goto(f"{console.url}/quick-replies")
    page.locator(".siyu-replies-new-title input").wait_for(state="visible")
    assert "话术库" in shown_text(page.locator("nav.siyu-nav"))
    shows(page, ".siyu-replies-empty", "话术库还是空的")
    type_into(page, ".siyu-replies-new-category input", "售后")
    type_into(page, ".siyu-replies-new-title input", "退换货政策")
    type_into(page, ".siyu-replies-text textarea", "亲，支持七天无理由退换货。")
    page.locator(".siyu-replies-save button").click()
    shows(page, ".siyu-replies-table", "退换货政策")
    shows(page, ".siyu-replies-table", "亲，支持七天无理由退换货。")
    page.locator(".siyu-replies-kind button", has_text="图片").click()
    picture = tmp_path / "尺码表.png"
    picture.write_bytes(tiny_png())
    page.locator(".siyu-replies-image input[type=file]").set_input_files(str(picture))
    wait_until(lambda: page.locator(".siyu-replies-preview img").count() == 1, page=page)
    type_into(page, ".siyu-replies-new-category input", "售后")
    type_into(page, ".siyu-replies-new-title input", "尺码表")
    page.locator(".siyu-replies-save button").click()
    shows(page, ".siyu-replies-table", "尺码表.png")
    table = shown_text(page.locator(".siyu-replies-table"))
    assert "图片" in table and "文字" in table
    page.locator(".siyu-replies-table .tabulator-row", has_text="尺码表").first.click()
    wait_until(lambda: page.locator(".siyu-replies-chosen img").count() == 1, page=page)
    selected = page.locator(".siyu-replies-table .tabulator-row.tabulator-selected")
    wait_until(lambda: selected.count() == 1 and "尺码表" in selected.first.inner_text(),
               page=page)
    shot(page, "1440")

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{console.url}/quick-replies")
    shows(page, ".siyu-replies-table", "尺码表")
    page.wait_for_timeout(500)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 400, f"the page is {width} px wide at 390 px"
    shot(page, "390")
