"""Sensitive words stored in the workspace: importing word lists, changing and listing words,
screening texts with them (cached until the words change), the ``siyu risk`` command, and
the audit trail."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

import siyu
from siyu.cli import main
from siyu.core.errors import NotFound, PermissionDenied, ValidationError
from siyu.core.permissions import Principal
from siyu.plugins.risk import words
from siyu.plugins.risk.screen import WordListError

ADS = "最高级\n全网最低价\n\n[引流]\n# 常见写法\n加微信\nVX\n"


@pytest.fixture
def lists(tmp_path):
    """Word list files: 广告法.txt (a default category and an [引流] section), more.txt."""
    (tmp_path / "广告法.txt").write_text(ADS, encoding="utf-8")
    (tmp_path / "more.txt").write_text("[引流]\nｖｘ\n二维码\n[涉政]\n敏感词\n", encoding="utf-8")
    return tmp_path


def stored(ws) -> list[tuple[str, str]]:
    return [(row["category"], row["word"]) for row in words.word_rows(ws)]


def analyst(ws):
    return ws.as_user(Principal("ana", "analyst"))


# -- importing ---------------------------------------------------------------------------------


def test_a_file_gives_its_name_to_words_before_its_first_header(ws, lists):
    report = words.import_words(ws, lists / "广告法.txt")
    assert (report.added, report.present, report.removed) == (4, 0, 0)
    assert report.categories == {"广告法": {"added": 2, "present": 0, "removed": 0},
                                 "引流": {"added": 2, "present": 0, "removed": 0}}
    assert words.categories(ws) == {"广告法": 2, "引流": 2}
    frame = words.words(ws, "引流")
    assert list(frame["word"]) == ["加微信", "VX"]
    assert list(frame["normalised"]) == ["加微信", "vx"]
    assert set(frame["source"]) == {"广告法.txt"}
    assert set(frame["created_by"]) == {"local"}
    assert str(frame["created_at"].dt.tz) == "Asia/Shanghai"


def test_the_category_option_names_the_words_before_the_first_header(ws, lists):
    words.import_words(ws, [lists / "广告法.txt"], category="广告")
    assert words.categories(ws) == {"广告": 2, "引流": 2}


def test_text_needs_a_header_or_a_category(ws):
    with pytest.raises(WordListError, match="line 1: word '微信' comes before any"):
        words.import_words(ws, "微信\n")
    report = words.import_words(ws, "微信\n\n[涉政]\n敏感词\n", category="引流")
    assert report.sources == ("manual",)
    assert stored(ws) == [("引流", "微信"), ("涉政", "敏感词")]


def test_a_word_listed_again_in_any_spelling_is_stored_once(ws, lists):
    report = words.import_words(ws, [lists / "广告法.txt", lists / "more.txt"])
    assert report.categories["引流"] == {"added": 3, "present": 0, "removed": 0}
    assert report.present == 0  # ｖｘ in more.txt is VX of 广告法.txt: one word, first spelling
    assert [w for c, w in stored(ws) if c == "引流"] == ["加微信", "VX", "二维码"]


def test_importing_again_reports_the_words_already_present(ws, lists):
    words.import_words(ws, lists / "广告法.txt")
    report = words.import_words(ws, [lists / "广告法.txt", lists / "more.txt"])
    assert (report.added, report.present, report.removed) == (2, 4, 0)
    assert len(stored(ws)) == 6


def test_replace_makes_the_named_categories_hold_exactly_the_new_words(ws, lists):
    words.import_words(ws, [lists / "广告法.txt", lists / "more.txt"])
    (lists / "引流.txt").write_text("加微信\n加QQ\n", encoding="utf-8")
    report = words.import_words(ws, lists / "引流.txt", replace=True)
    assert report.categories == {"引流": {"added": 1, "present": 1, "removed": 2}}
    assert stored(ws) == [("广告法", "最高级"), ("广告法", "全网最低价"), ("引流", "加微信"),
                          ("引流", "加QQ"), ("涉政", "敏感词")]


def test_replace_with_an_empty_list_empties_the_named_category(ws, lists):
    words.import_words(ws, lists / "广告法.txt")
    (lists / "empty.txt").write_text("# nothing yet\n", encoding="utf-8")
    report = words.import_words(ws, lists / "empty.txt", category="引流", replace=True)
    assert report.removed == 2
    assert words.categories(ws) == {"广告法": 2}


@pytest.mark.parametrize(("content", "message"), [
    ("[引流]\n加微信\n[坏标题\n", r"bad\.txt, line 3: malformed category header"),
    ("[引流]\n加微信\n***\n", r"bad\.txt, line 3: word '\*\*\*' has no letters"),
    (b"[\xe5\xbc\x95\xe6\xb5\x81]\n\xbc\xd3\n", r"bad\.txt, line 2: not UTF-8 text"),
    (None, r"nope\.txt: cannot read the word list"),
], ids=["header", "no-letters", "not-utf8", "missing"])
def test_a_bad_file_stores_nothing(ws, lists, content, message):
    words.import_words(ws, lists / "广告法.txt")
    before = stored(ws)
    bad = lists / ("nope.txt" if content is None else "bad.txt")
    if isinstance(content, bytes):
        bad.write_bytes(content)
    elif content is not None:
        bad.write_text(content, encoding="utf-8")
    for replace in (False, True):
        with pytest.raises(WordListError, match=message):
            words.import_words(ws, [lists / "more.txt", bad], replace=replace)
    assert stored(ws) == before
    assert ws.audit_log.df(action="risk.words.import")["target"].tolist() == ["广告法, 引流"]


def test_no_list_at_all_is_an_error(ws):
    with pytest.raises(ValidationError, match="no word list given"):
        words.import_words(ws, [])


# -- single words ------------------------------------------------------------------------------


def test_add_word_reports_whether_it_was_new(ws):
    assert words.add_word(ws, " 加微信 ", "引流") is True
    assert words.add_word(ws, "加 微-信", "引流") is False
    assert words.add_word(ws, "加微信", "广告法") is True
    assert stored(ws) == [("广告法", "加微信"), ("引流", "加微信")]
    with pytest.raises(WordListError, match="has no letters or digits"):
        words.add_word(ws, "--", "引流")


def test_remove_words_by_normalised_form_in_every_category_or_one(ws, lists):
    words.import_words(ws, [lists / "广告法.txt", lists / "more.txt"])
    words.add_word(ws, "VX", "广告法")
    assert words.remove_words(ws, ["ｖ.ｘ"], category="广告法") == 1
    assert words.remove_words(ws, "vx") == 1
    assert words.remove_words(ws, category="涉政") == 1
    assert words.categories(ws) == {"广告法": 2, "引流": 2}
    with pytest.raises(NotFound, match="no category '涉政'"):
        words.remove_words(ws, category="涉政")
    with pytest.raises(ValidationError, match="name the words to remove"):
        words.remove_words(ws)


# -- permissions -------------------------------------------------------------------------------


def test_an_analyst_may_list_and_test_but_not_change_words(ws, lists):
    words.import_words(ws, lists / "广告法.txt")
    ana = analyst(ws)
    for change in (lambda: words.import_words(ana, lists / "more.txt"),
                   lambda: words.add_word(ana, "二维码", "引流"),
                   lambda: words.remove_words(ana, ["VX"])):
        with pytest.raises(PermissionDenied, match="ana"):
            change()
    assert len(words.words(ana)) == 4
    assert [m.word for m in words.test_text(ana, "加V X")] == ["VX"]
    assert len(stored(ws)) == 4


def test_a_role_without_data_read_cannot_screen(ws, monkeypatch):
    from siyu.core import permissions

    monkeypatch.setitem(permissions.ROLES, "nobody", frozenset())
    with pytest.raises(PermissionDenied):
        words.screen(ws.as_user(Principal("nemo", "nobody")))


# -- screening and its cache -------------------------------------------------------------------


def test_the_screen_is_kept_until_the_words_change(ws, lists):
    words.import_words(ws, lists / "广告法.txt")
    first = words.screen(ws)
    assert words.screen(ws) is first
    assert words.screen(analyst(ws)) is first  # one cache per workspace, for every view
    assert words.test_text(ws, "扫二维码") == []
    words.add_word(ws, "二维码", "引流")
    assert words.screen(ws) is not first
    assert [(m.category, m.word, m.excerpt) for m in words.test_text(ws, "扫二维码")] == [
        ("引流", "二维码", "扫二维码")]
    words.remove_words(ws, ["二维码"])
    assert words.test_text(ws, "扫二维码") == []


def test_a_change_through_another_workspace_is_seen(ws, lists, db_url):
    words.import_words(ws, lists / "广告法.txt")
    assert words.test_text(ws, "加QQ") == []
    with siyu.open(db_url, load_entry_points=False) as other:
        words.add_word(other, "加QQ", "引流")
        assert words.test_text(other, "加 q q") != []
    assert [m.word for m in words.test_text(ws, "加 q q")] == ["加QQ"]
    with siyu.open(db_url, load_entry_points=False) as other:
        words.import_words(other, "[引流]\n加QQ\n", replace=True)
    assert [m.word for m in words.test_text(ws, "加微信加QQ")] == ["加QQ"]


def test_an_empty_store_screens_nothing(ws):
    assert words.words(ws).empty and words.categories(ws) == {}
    assert len(words.screen(ws)) == 0
    assert words.test_text(ws, "加微信") == []


# -- audit -------------------------------------------------------------------------------------


def test_every_change_is_audited(ws, lists):
    words.import_words(ws, lists / "广告法.txt", replace=True)
    words.add_word(ws, "二维码", "引流")
    words.add_word(ws, "二维码", "引流")  # nothing changed, nothing audited
    words.remove_words(ws, category="广告法")
    log = ws.audit_log.df(action="risk.*").iloc[::-1]
    assert list(log["action"]) == ["risk.words.import", "risk.word.add", "risk.words.remove"]
    assert list(log["actor"]) == ["local"] * 3
    imported, added, removed = log["detail"]
    assert (imported["added"], imported["replace"], imported["sources"]) == (
        4, True, ["广告法.txt"])
    assert added == {"category": "引流"}
    assert removed["removed"] == 2 and removed["words"] == ["广告法/最高级", "广告法/全网最低价"]


def test_the_tables_have_their_own_migration_history(ws):
    assert "risk" in ws.model_sets
    names = sa.inspect(ws.engine).get_table_names()
    assert {"risk_word", "risk_word_version", "alembic_version_risk"} <= set(names)


# -- the command -------------------------------------------------------------------------------


@pytest.fixture
def db(tmp_path, monkeypatch):
    for name in ("SIYU_DATABASE_URL", "SIYU_DISABLE_PLUGINS", "SIYU_TRACE_PLUGINS"):
        monkeypatch.delenv(name, raising=False)
    return str(tmp_path / "shop.db")


def run(capsys, *argv):
    """Run `siyu argv…` in this process; return (exit code, stdout, stderr)."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_import_list_test_and_remove(capsys, db, lists):
    code, out, _ = run(capsys, "--db", db, "risk", "words", "import", lists / "广告法.txt",
                       lists / "more.txt")
    assert code == 0
    assert out.splitlines()[0] == "added 6, already present 0, removed 0"
    assert "  引流: added 3, already present 0, removed 0" in out.splitlines()
    code, out, _ = run(capsys, "--db", db, "risk", "words", "list", "--category", "引流")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["category", "word", "source", "created_at", "created_by"]
    assert [line.split()[:3] for line in lines[1:]] == [
        ["引流", "加微信", "广告法.txt"], ["引流", "VX", "广告法.txt"],
        ["引流", "二维码", "more.txt"]]
    code, out, _ = run(capsys, "--db", db, "risk", "words", "list", "--json")
    rows = json.loads(out)
    assert len(rows) == 6 and rows[0]["word"] == "最高级" and rows[0]["created_by"] == "local"
    code, out, _ = run(capsys, "--db", db, "risk", "test", "扫二维码 加ｖ-ｘ")
    assert code == 1
    assert out.splitlines() == ["引流: 二维码 — 扫【二维码】 加ｖ-ｘ",
                                "引流: VX — 扫二维码 加【ｖ-ｘ】", "2 matches"]
    code, out, _ = run(capsys, "--db", db, "risk", "words", "remove", "vx", "二维码")
    assert (code, out.strip()) == (0, "removed 2 words")
    code, out, _ = run(capsys, "--db", db, "risk", "test", "扫二维码 加ｖ-ｘ")
    assert (code, out.strip()) == (0, "clean: no sensitive words found")
    code, out, _ = run(capsys, "--db", db, "risk", "words", "remove", "--category", "涉政")
    assert (code, out.strip()) == (0, "removed 1 word")


def test_cli_speaks_chinese(capsys, db, lists):
    code, out, _ = run(capsys, "--lang", "zh_CN", "--db", db, "risk", "words", "import",
                       lists / "广告法.txt")
    assert code == 0
    assert out.splitlines()[0] == "新增 4，已存在 0，删除 0"
    code, out, _ = run(capsys, "--lang", "zh_CN", "--db", db, "risk", "test", "全网最低价")
    assert code == 1
    assert out.splitlines() == ["广告法：全网最低价 — 【全网最低价】", "命中 1 处"]
    code, out, _ = run(capsys, "--lang", "zh_CN", "--db", db, "risk", "test", "你好")
    assert (code, out.strip()) == (0, "未发现敏感词")
    (lists / "bad.txt").write_text("[引流]\n[坏\n", encoding="utf-8")
    code, _, err = run(capsys, "--lang", "zh_CN", "--db", db, "risk", "words", "import",
                       lists / "bad.txt")
    assert code == 2
    assert "bad.txt，第 2 行：分类标题 '[坏' 格式不对" in err


@pytest.mark.parametrize(("content", "fragments"), [
    ("[引流]\n加微信\n[坏\n", ["bad.txt, line 3", "malformed category header"]),
    (b"\xff\xfe\x00", ["bad.txt, line 1", "not UTF-8"]),
    (None, ["nope.txt", "cannot read"]),
], ids=["bad-line", "not-utf8", "missing"])
def test_cli_bad_input_is_one_line_and_stores_nothing(capsys, db, lists, content, fragments):
    bad = lists / ("nope.txt" if content is None else "bad.txt")
    if isinstance(content, bytes):
        bad.write_bytes(content)
    elif content is not None:
        bad.write_text(content, encoding="utf-8")
    code, out, err = run(capsys, "--db", db, "risk", "words", "import", lists / "广告法.txt",
                         bad)
    assert code == 2 and "Traceback" not in out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("siyu: error: ")
    for fragment in fragments:
        assert fragment in lines[0]
    code, out, _ = run(capsys, "--db", db, "risk", "words", "list")
    assert (code, out.strip()) == (0, "no sensitive words")


def test_cli_remove_needs_words_or_a_category(capsys, db):
    code, _, err = run(capsys, "--db", db, "risk", "words", "remove")
    assert code == 2 and "name the words to remove" in err


def test_cli_test_reads_standard_input(capsys, db, monkeypatch):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("请加微信"))
    ws = siyu.open(db, load_entry_points=False)
    try:
        words.add_word(ws, "加微信", "引流")
    finally:
        ws.close()
    code, out, _ = run(capsys, "--db", db, "risk", "test", "-")
    assert code == 1 and out.splitlines()[0] == "引流: 加微信 — 请【加微信】"
