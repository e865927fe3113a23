"""``siyu campaign …`` end to end on a SQLite file, through the WeCom sandbox."""

from __future__ import annotations

import json

import pytest

import siyu
from siyu.cli import main
from siyu.plugins.wecom.config import save_config
from siyu.plugins.wecom.sandbox.crowd import gather
from siyu.plugins.wecom.sandbox.server import Sandbox


@pytest.fixture
def db(tmp_path, monkeypatch):
    for name in ("SIYU_DATABASE_URL", "SIYU_DISABLE_PLUGINS", "SIYU_TRACE_PLUGINS"):
        monkeypatch.delenv(name, raising=False)
    path = str(tmp_path / "shop.db")
    sandbox = Sandbox(populate_world=False).start()
    with siyu.open(path, load_entry_points=False) as ws:
        save_config(ws, corp_id=sandbox.corp_id, secret=sandbox.secret, token=sandbox.token,
                    encoding_aes_key=sandbox.encoding_aes_key, base_url=sandbox.base_url)
        gather(sandbox, ws, customers=120, staff=3)
        ws.segments.create("全部好友", {"friend": {}})
    yield path
    sandbox.stop()


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_create_preview_launch_send_and_results(capsys, db):
    code, out, _ = run(capsys, "--lang", "en", "campaign", "--db", db, "create", "冬促",
                       "--channel", "wecom", "--segment", "全部好友", "--text",
                       "冬促开始，{staff}为您服务", "--holdout", "10")
    assert code == 0 and "冬促" in out
    code, out, _ = run(capsys, "--lang", "en", "campaign", "--db", db, "preview", "冬促",
                       "--json")
    preview = json.loads(out)
    assert code == 0 and preview["selected"] == 120
    assert preview["will_receive"] + preview["reasons"]["holdout"] == 120
    code, out, _ = run(capsys, "--lang", "en", "campaign", "--db", db, "launch", "冬促")
    assert code == 0 and "120 targeted" in out
    code, out, _ = run(capsys, "--lang", "en", "campaign", "--db", db, "send", "--until-done")
    assert code == 0 and f"{preview['will_receive']} messages" in out
    code, out, _ = run(capsys, "--lang", "en", "campaign", "--db", db, "results", "冬促",
                       "--json")
    rows = {r["variant"]: r for r in json.loads(out)}
    assert rows[""]["awaiting_confirmation"] == preview["will_receive"]
    assert rows["holdout"]["targeted"] == preview["reasons"]["holdout"]
    code, _, err = run(capsys, "--lang", "en", "campaign", "--db", db, "cancel", "冬促")
    assert code == 2 and "is done; cannot cancel it" in err  # everything was handed over


def test_bad_input_is_named_and_nothing_is_stored(capsys, db):
    code, _, err = run(capsys, "--lang", "en", "campaign", "--db", db, "create", "坏",
                       "--channel", "wecom", "--segment", "全部好友", "--text", "{nickname}好")
    assert code != 0 and "{nickname}" in err
    code, _, err = run(capsys, "--lang", "en", "campaign", "--db", db, "create", "坏",
                       "--channel", "sms", "--segment", "全部好友", "--text", "hi")
    assert code != 0 and "sms" in err
    code, _, err = run(capsys, "--lang", "en", "campaign", "--db", db, "create", "坏",
                       "--channel", "wecom", "--spec", "{not json", "--text", "hi")
    assert code != 0 and "JSON" in err
    code, out, _ = run(capsys, "--lang", "en", "campaign", "--db", db, "list")
    assert code == 0 and "no campaigns" in out
    code, _, err = run(capsys, "--lang", "en", "campaign", "--db", db, "create", "定时",
                       "--channel", "wecom", "--segment", "全部好友", "--text", "hi")
    code, _, err = run(capsys, "--lang", "en", "campaign", "--db", db, "launch", "定时",
                       "--at", "2020-01-01T10:00")
    assert code != 0 and "past" in err
