"""docs/console.md's example page runs as written: a plugin package with its own catalogue,
built in Chinese and in English, with the kit's formats."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

import siyu
from siyu.core import i18n_catalogues
from siyu.core.i18n import use_language

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "console.md"
CHINESE = {"Store": "门店", "Contacts": "客户数", "Revenue": "销售额", "Last order": "最近下单",
           "Stores": "门店",
           "Contacts and paid revenue of each store.": "各门店的客户数和已支付销售额。"}


def _python_blocks() -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", GUIDE.read_text(encoding="utf-8"),
                      re.MULTILINE | re.DOTALL)


@pytest.fixture
def mypkg(tmp_path, monkeypatch):
    """The guide's two blocks as the package ``mypkg`` (pages.py, plugin.py), its zh_CN
    catalogue made with the catalogue tools."""
    pages, plugin = _python_blocks()[:2]
    package = tmp_path / "mypkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "pages.py").write_text(pages, encoding="utf-8")
    (package / "plugin.py").write_text(plugin, encoding="utf-8")
    (package / "locale").mkdir()
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in [m for m in sys.modules if m == "mypkg" or m.startswith("mypkg.")]:
        monkeypatch.delitem(sys.modules, name)
    counts = i18n_catalogues.update("mypkg", "zh_CN", CHINESE)
    assert counts["messages"] == len(CHINESE)
    assert i18n_catalogues.untranslated("mypkg", "zh_CN") == []
    import mypkg.plugin
    yield mypkg.plugin
    from siyu.core.i18n import Translator
    Translator("mypkg").reload()


def _table(page):
    import panel as pn
    return next(t for t in page.select(pn.widgets.Tabulator)
                if "mypkg-stores" in t.css_classes)


def test_the_guides_page_runs_in_chinese_and_english(mypkg, tmp_path):
    ws = siyu.open(f"sqlite:///{tmp_path / 'docs.db'}", plugins=[mypkg])
    try:
        spec = ws.pages()["stores"]
        with use_language("zh_CN"):
            assert str(spec.title) == "门店"
            page = spec.factory(ws)
            frame = _table(page).value
            header = page.objects[0].object
        assert list(frame.columns) == ["门店", "客户数", "销售额", "最近下单"]
        assert frame.iloc[0].tolist() == ["上海南京西路店", "12,034", "¥1,234,567.89",
                                          "2026-12-01 10:30"]
        assert frame.iloc[1].tolist()[2:] == ["—", "—"]
        assert "各门店的客户数和已支付销售额。" in header
        with use_language("en"):
            assert str(spec.title) == "Stores"
            frame = _table(spec.factory(ws)).value
        assert list(frame.columns) == ["Store", "Contacts", "Revenue", "Last order"]
    finally:
        ws.close()
