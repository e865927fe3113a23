"""``siyu replies list|add|show|set|remove|import|export`` end to end: what each prints, and
bad input as one ``siyu: error: …`` line with exit code 2 and nothing stored."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from siyu.cli import main
from siyu.plugins import quickreplies as qr

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in ("SIYU_DATABASE_URL", "SIYU_DISABLE_PLUGINS", "SIYU_TRACE_PLUGINS"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def cli(ws, capsys):
    """Run ``siyu --db <ws> replies argv…``; (exit code, stdout, stderr)."""
    capsys.readouterr()

    def run(*argv):
        code = main(["--db", ws.url, "replies", *map(str, argv)])
        out, err = capsys.readouterr()
        return code, out, err
    return run


def one_line_error(result, *fragments):
    code, out, err = result
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert lines[-1].startswith("siyu: error: "), err
    for fragment in fragments:
        assert fragment in lines[-1], lines[-1]


def test_add_list_show_set_remove(cli, ws, tmp_path):
    image = tmp_path / "poster.png"
    image.write_bytes(PNG)
    assert cli("add", "--category", "售后", "--title", "退换货", "--text", "七天无理由") == (
        0, "reply 1 added: 售后/退换货 (text)\n", "")
    assert cli("add", "--category", "活动", "--title", "海报", "--image", image)[1] == (
        "reply 2 added: 活动/海报 (image)\n")
    code, out, _err = cli("list")
    lines = out.splitlines()
    assert code == 0 and lines[0].split() == ["id", "category", "position", "title", "kind",
                                              "preview", "enabled", "use_count",
                                              "last_used_at"]
    assert lines[1].split() == ["1", "售后", "1", "退换货", "text", "七天无理由", "yes", "0"]
    assert lines[2].split() == ["2", "活动", "1", "海报", "image", "poster.png", "yes", "0"]
    code, out, _err = cli("list", "--category", "活动", "--json")
    assert [row["title"] for row in json.loads(out)] == ["海报"]
    code, out, _err = cli("show", 1)
    assert "reply 1: 售后/退换货 (text, #1 in its category, enabled)" in out
    assert "七天无理由" in out
    saved = tmp_path / "out.png"
    assert cli("show", 2, "--save-image", saved)[0] == 0 and saved.read_bytes() == PNG
    assert cli("set", 1, "--title", "退货", "--disable")[1] == (
        "reply 1 changed: 售后/退货, #1 in its category\n")
    assert not qr.get(ws, 1).enabled
    assert cli("remove", 2) == (0, "reply 2 removed: 活动/海报\n", "")
    assert qr.listing(ws)["title"].tolist() == ["退货"]


def test_import_and_export(cli, ws, tmp_path):
    source = tmp_path / "in.csv"
    source.write_text("分类,标题,内容\n售后,运费,包邮\n售后,发货,48小时\n", encoding="utf-8")
    code, out, _err = cli("import", source)
    assert code == 0 and "2 new" in out
    target = tmp_path / "out.xlsx"
    code, out, _err = cli("export", target)
    assert out == f"2 replies written to {target}\n"
    assert pd.read_excel(target)["title"].tolist() == ["运费", "发货"]
    code, out, _err = cli("export")
    assert out.splitlines()[0].startswith("category,title,kind,text")


@pytest.mark.parametrize(("argv", "fragment"), [
    (("add", "--category", "c", "--title", "t", "--text", "x" * 2001), "at most 2000"),
    (("add", "--category", "c", "--title", "t" * 41, "--text", "x"), "at most 40"),
    (("add", "--category", "c", "--title", "t", "--image", "/no/such.png"),
     "cannot read the image"),
    (("show", 9), "no quick reply 9"),
    (("set", 9, "--title", "x"), "no quick reply 9"),
    (("remove", 9), "no quick reply 9"),
    (("set", 1), "nothing to change"),
    (("import", "/no/such.csv"), "no such file"),
    (("export", "out.txt"), "export to a .csv or .xlsx file"),
])
def test_bad_input_is_one_line_and_nothing_is_stored(cli, ws, argv, fragment, monkeypatch,
                                                     tmp_path):
    monkeypatch.chdir(tmp_path)
    one_line_error(cli(*argv), fragment)
    assert qr.listing(ws).empty


def test_an_image_that_is_not_png_or_jpeg_is_refused(cli, ws, tmp_path):
    fake = tmp_path / "fake.png"
    fake.write_bytes(b"GIF89a....")
    one_line_error(cli("add", "--category", "c", "--title", "t", "--image", fake),
                   "fake.png is not a PNG or JPEG image")
    code, _out, err = cli("add", "--category", "c", "--title", "t")
    assert code == 2 and "one of the arguments --text --image is required" in err
    assert qr.listing(ws).empty


def test_a_bad_import_names_each_row_and_stores_nothing(cli, ws, tmp_path):
    source = tmp_path / "bad.csv"
    source.write_text("category,title,text\n售后,,x\n售后,a,\n", encoding="utf-8")
    code, out, err = cli("import", source)
    assert code == 2 and out == ""
    assert "line 2: a quick reply needs a title" in err
    assert "line 3: the reply's text is empty" in err
    assert err.strip().splitlines()[-1].startswith("siyu: error: bad.csv: 2 bad rows")
    assert qr.listing(ws).empty
