"""Store codes created in bulk from a file, against the sandbox."""

import zipfile

import pytest

from siyu.core.errors import ImportFailed
from siyu.plugins.livecodes import api
from siyu.plugins.livecodes.stores import create_store_codes, store_code_ids


def write(tmp_path, text, name="stores.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8-sig")
    return path


def test_one_code_per_store_and_rerun_skips(wired, tmp_path):
    ws = wired.ws
    ws.stores.upsert("SH001", "上海店")
    ws.stores.upsert("BJ001", "北京店")
    staff = wired.hire("m1", "m2", "m3")
    path = write(tmp_path, f"门店,员工,备用员工\nSH001,{staff[0]};{staff[1]},{staff[2]}\n"
                           f"BJ001,{staff[2]},\n")
    report = create_store_codes(ws, path, tags=["渠道/门店"])
    assert len(report.created) == 2 and report.skipped == []
    codes = api.list_codes(ws).set_index("id")
    assert set(codes.loc[report.created, "name"]) == {"上海店活码", "北京店活码"}
    assert set(codes.loc[report.created, "channel"]) == {"门店"}
    assert store_code_ids(ws) == sorted(report.created)
    again = create_store_codes(ws, path)
    assert again.created == [] and sorted(again.skipped) == ["BJ001", "SH001"]


def test_bad_rows_create_nothing(wired, tmp_path):
    ws = wired.ws
    ws.stores.upsert("SH001", "上海店")
    staff = wired.hire("m1")
    path = write(tmp_path, f"门店,员工\nSH001,{staff[0]}\nXX9,{staff[0]}\nSH001,ghost\n")
    with pytest.raises(ImportFailed) as err:
        create_store_codes(ws, path)
    found = [(p.line, str(p)) for p in err.value.problems]
    assert any(line == 3 and "XX9" in text for line, text in found)
    assert any(line == 4 and "twice" in text for line, text in found)
    assert any(line == 4 and "ghost" in text for line, text in found)
    assert api.list_codes(ws).empty


def test_cli_writes_the_qr_zip(wired, tmp_path, capsys):
    from siyu.cli import main

    if wired.ws.engine.dialect.name != "sqlite":
        pytest.skip("the CLI test needs the workspace's file path")
    wired.ws.stores.upsert("SH001", "上海店")
    staff = wired.hire("m1")
    path = write(tmp_path, f"store,members\nSH001,{staff[0]}\n")
    out = tmp_path / "codes.zip"
    db = wired.ws.engine.url.database
    assert main(["--db", db, "livecode", "stores", str(path), "--zip", str(out)]) == 0
    assert "1 store codes created" in capsys.readouterr().out
    with zipfile.ZipFile(out) as archive:
        assert len(archive.namelist()) == 1 and archive.namelist()[0].endswith(".png")
