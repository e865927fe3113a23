"""The sensitive-word screen: word lists, normalisation against evasions, and matches that map
back to the text as written."""

from __future__ import annotations

import random
import threading
import unicodedata
from concurrent.futures import ThreadPoolExecutor

import pytest

from siyu.core.errors import ValidationError
from siyu.plugins.risk.screen import (
    CONTEXT,
    MAX_WORD_LENGTH,
    Match,
    WordListError,
    WordScreen,
    load_word_lists,
    normalise,
    parse_word_list,
)

# -- word lists ------------------------------------------------------------------------------


def test_section_headers_set_the_category_of_the_words_after_them():
    text = "[广告法]\n最佳\n全网最低\n[金融]\n稳赚不赔\n"
    assert parse_word_list(text) == [("最佳", "广告法"), ("全网最低", "广告法"),
                                     ("稳赚不赔", "金融")]


def test_words_before_any_header_take_the_given_category():
    assert parse_word_list("微信\n[竞品]\nvx", category="其他") == [("微信", "其他"),
                                                                   ("vx", "竞品")]


def test_blank_lines_comments_and_surrounding_spaces_are_ignored():
    text = "\ufeff# 广告法词表\n\n  最佳  \n   # 缩进的注释\n\t\n[ 金融 ]\r\n躺赚\r\n"
    assert parse_word_list(text, "广告法") == [("最佳", "广告法"), ("躺赚", "金融")]


def test_a_word_repeated_in_one_category_is_kept_once_in_its_first_spelling():
    assert parse_word_list("VX\nvx\nＶＸ\nv.x", "竞品") == [("VX", "竞品")]


def test_a_word_before_any_header_without_a_default_category_names_the_line():
    with pytest.raises(WordListError, match=r"<word list>, line 2: word '微信' comes before"):
        parse_word_list("# no header\n微信\n")


@pytest.mark.parametrize(("text", "message"), [
    ("[a]\n" + "长" * (MAX_WORD_LENGTH + 1), r"x\.txt, line 2: word is longer than 50"),
    ("[a]\nok\n---", r"x\.txt, line 3: word '---' has no letters or digits"),
    ("[a]\n🙂 🙂", r"x\.txt, line 2: word '🙂 🙂' has no letters or digits"),
    ("[]\nword", r"x\.txt, line 1: empty category name"),
    ("[a]\n[b", r"x\.txt, line 2: malformed category header '\[b'"),
])
def test_bad_lines_are_errors_naming_the_source_and_line(text, message):
    with pytest.raises(WordListError, match=message):
        parse_word_list(text, source="x.txt")


def test_a_word_of_exactly_the_limit_is_accepted():
    word = "长" * MAX_WORD_LENGTH
    assert parse_word_list(word, "a") == [(word, "a")]


def test_word_list_errors_are_value_errors_and_user_errors():
    with pytest.raises(ValueError):
        parse_word_list("---", "a")
    assert issubclass(WordListError, ValidationError)


def test_files_default_to_their_stem_as_category(tmp_path):
    (tmp_path / "广告法.txt").write_text("最佳\n[金融]\n躺赚\n", encoding="utf-8")
    (tmp_path / "other.txt").write_text("\ufeff私聊\n", encoding="utf-8")
    pairs = load_word_lists([tmp_path / "广告法.txt", str(tmp_path / "other.txt")])
    assert pairs == [("最佳", "广告法"), ("躺赚", "金融"), ("私聊", "other")]


def test_a_single_path_is_read_as_one_file(tmp_path):
    path = tmp_path / "辱骂.txt"
    path.write_text("骗子\n", encoding="utf-8")
    assert load_word_lists(path) == [("骗子", "辱骂")]


def test_the_same_word_in_two_files_keeps_both_categories(tmp_path):
    (tmp_path / "竞品.txt").write_text("微信\n", encoding="utf-8")
    (tmp_path / "其他.txt").write_text("微 信\n", encoding="utf-8")
    pairs = load_word_lists([tmp_path / "竞品.txt", tmp_path / "其他.txt"])
    assert pairs == [("微信", "竞品"), ("微 信", "其他")]
    screen = WordScreen(pairs)
    assert len(screen) == 1
    assert [(m.word, m.category) for m in screen.screen("加微信")] == [("微信", "竞品"),
                                                                      ("微信", "其他")]


def test_a_file_that_is_not_utf8_names_the_file_and_line(tmp_path):
    path = tmp_path / "gbk.txt"
    path.write_bytes("最佳\n".encode() + "稳赚".encode("gbk"))
    with pytest.raises(WordListError, match=r"gbk\.txt, line 2: not UTF-8 text"):
        load_word_lists([path])


def test_a_bad_word_in_a_file_names_the_file_and_line(tmp_path):
    path = tmp_path / "list.txt"
    path.write_text("ok\n\n# c\n***\n", encoding="utf-8")
    with pytest.raises(WordListError, match=r"list\.txt, line 4: word '\*\*\*'"):
        load_word_lists([path])


def test_a_missing_file_is_an_os_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_word_lists([tmp_path / "none.txt"])


# -- normalisation ---------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("微 信", "微信"), ("微-信", "微信"), ("微_信", "微信"), ("微·信", "微信"), ("微*信", "微信"),
    ("微|信", "微信"), ("微/信", "微信"), ("微\\信", "微信"), ("微~信", "微信"), ("微～信", "微信"),
    ("微\u200b信", "微信"), ("微\u200c\u200d信", "微信"), ("\ufeff微信", "微信"),
    ("微\u3000信", "微信"), ("微，信。", "微信"), ("「微」『信』", "微信"), ("微🌸信", "微信"),
    ("ＶＸ", "vx"), ("v.x", "vx"), ("V x", "vx"), ("ｖ．ｘ", "vx"), ("wēixìn", "weixin"),
    ("①②", "12"), ("㍻", "平成"), ("Straße", "strasse"), ("", ""), (" .-~ ", ""),
])
def test_normalise_folds_evasions(text, expected):
    assert normalise(text)[0] == expected


def test_normalise_maps_each_character_back_to_its_original_position():
    normalised, positions = normalise("Ｖ.Ｘ 微-信㍻")
    assert normalised == "vx微信平成"
    assert positions == (0, 2, 4, 6, 7, 7)


def test_decomposed_and_precomposed_accents_agree():
    assert normalise("cafe\u0301")[0] == normalise("café")[0] == "cafe"


def test_normalising_twice_changes_nothing():
    rng = random.Random(7)
    for _ in range(200):
        text = "".join(chr(rng.randrange(0x20, 0x30000)) for _ in range(30))
        once = normalise(text)[0]
        assert normalise(once)[0] == once


# -- screening -------------------------------------------------------------------------------


def _spans(screen: WordScreen, text: str) -> list[tuple[str, str, str]]:
    return [(m.word, m.category, text[m.start:m.end]) for m in screen.screen(text)]


@pytest.mark.parametrize("text", ["加微 信", "微-信", "微\u200b信", "微，信", "微🌸信"])
def test_separated_chinese_words_match_as_written(text):
    screen = WordScreen([("微信", "其他")])
    [match] = screen.screen(f"请{text}！")
    assert match.word == "微信"
    assert f"请{text}！"[match.start:match.end] == text.removeprefix("加")


@pytest.mark.parametrize("text", ["ＶＸ", "v.x", "V X", "ｖ＿ｘ", "Vx"])
def test_latin_words_match_in_any_width_case_and_spacing(text):
    screen = WordScreen([("vx", "竞品")])
    assert _spans(screen, f"加我{text}号") == [("vx", "竞品", text)]


def test_overlapping_words_are_all_reported_by_start_then_length():
    screen = WordScreen([(word, "其他") for word in ("微信", "加微信", "微信号", "信号")])
    text = "快加微信号吧"
    assert [(m.word, m.start, m.end) for m in screen.screen(text)] == [
        ("加微信", 1, 4), ("微信", 2, 4), ("微信号", 2, 5), ("信号", 3, 5)]


def test_every_occurrence_is_reported():
    screen = WordScreen([("aa", "x")])
    assert [(m.start, m.end) for m in screen.screen("aaaa")] == [(0, 2), (1, 3), (2, 4)]


def test_a_word_in_two_categories_gives_one_match_per_category_in_list_order():
    screen = WordScreen([("微信", "竞品"), ("最佳", "广告法"), ("微 信", "其他")])
    assert screen.categories == ("竞品", "广告法", "其他")
    assert [(m.word, m.category) for m in screen.screen("微信")] == [("微信", "竞品"),
                                                                    ("微信", "其他")]


def test_the_word_is_reported_as_first_listed_whatever_the_text_says():
    screen = WordScreen([("VX", "竞品"), ("vx", "竞品")])
    assert len(screen) == 1
    assert [m.word for m in screen.screen("ｖ.ｘ")] == ["VX"]


def test_positions_and_excerpt_come_from_the_original_text():
    text = "０１２３４５６７８９ＡＢ加 ＶＸ：微-信，ＣＤ０１２３４５６７８９ＥＦ"
    screen = WordScreen([("vx", "竞品"), ("微信", "其他")])
    vx, weixin = screen.screen(text)
    assert text[vx.start:vx.end] == "ＶＸ"
    assert vx.excerpt == text[vx.start - CONTEXT:vx.end + CONTEXT]
    assert vx.excerpt == "４５６７８９ＡＢ加 ＶＸ：微-信，ＣＤ０１２"
    assert text[weixin.start:weixin.end] == "微-信"
    assert weixin.excerpt == "７８９ＡＢ加 ＶＸ：微-信，ＣＤ０１２３４５６"


def test_the_excerpt_is_clipped_at_the_ends_of_the_text():
    screen = WordScreen([("最佳", "广告法")])
    assert screen.screen("最佳")[0].excerpt == "最佳"
    assert screen.screen("本店最佳。")[0].excerpt == "本店最佳。"


def test_a_match_never_starts_or_ends_on_a_dropped_character():
    screen = WordScreen([("微信", "其他")])
    [match] = screen.screen("-- 微 信 --")
    assert (match.start, match.end) == (3, 6)


def test_a_character_that_expands_maps_to_its_whole_self():
    screen = WordScreen([("平成", "x"), ("成元", "y")])
    assert [(m.word, m.start, m.end) for m in screen.screen("㍻元年")] == [
        ("平成", 0, 1), ("成元", 0, 2)]


def test_chinese_and_latin_words_together():
    screen = WordScreen([("iPhone", "竞品"), ("全网最低", "广告法"), ("加微信", "其他")])
    text = "IPHONE 15 全网·最低价，加 微信 咨询"
    assert _spans(screen, text) == [("iPhone", "竞品", "IPHONE"),
                                    ("全网最低", "广告法", "全网·最低"),
                                    ("加微信", "其他", "加 微信")]


def test_matches_are_frozen_values():
    match = WordScreen([("最佳", "广告法")]).screen("最佳")[0]
    assert match == Match("最佳", "广告法", 0, 2, "最佳")
    with pytest.raises(AttributeError):
        match.start = 1


def test_first_is_the_first_match_or_none():
    screen = WordScreen([("bc", "x"), ("abcd", "y"), ("微信", "z")])
    assert screen.first("xabcd") == screen.screen("xabcd")[0]
    assert screen.first("xabcd").word == "abcd"
    assert screen.first("nothing here") is None
    assert screen.first("") is None


def test_an_empty_screen_finds_nothing():
    screen = WordScreen([])
    assert len(screen) == 0
    assert screen.categories == ()
    assert screen.screen("微信 vx") == []
    assert screen.first("微信 vx") is None


def test_empty_and_separator_only_texts_match_nothing():
    screen = WordScreen([("微信", "其他")])
    assert screen.screen("") == []
    assert screen.screen(" ,.-~\u200b ") == []
    assert screen.first(" ") is None


def test_len_counts_distinct_normalised_words():
    screen = WordScreen([("微信", "a"), ("微 信", "b"), ("vx", "a"), ("ＶＸ", "a")])
    assert len(screen) == 2
    assert screen.categories == ("a", "b")


def test_bad_pairs_are_errors_naming_the_pair():
    with pytest.raises(WordListError, match=r"pair 2 \('---', 'a'\): word '---' has no letters"):
        WordScreen([("ok", "a"), ("---", "a")])
    with pytest.raises(WordListError, match=r"pair 1 \('ok', ' '\): empty category"):
        WordScreen([("ok", " ")])
    with pytest.raises(WordListError, match=r"pair 1: expected \(word, category\)"):
        WordScreen(["ok"])  # a two-character string is not a pair
    with pytest.raises(WordListError, match=r"pair 1: expected \(word, category\)"):
        WordScreen([("ok", "a", "b")])


def test_a_screen_cannot_be_changed():
    screen = WordScreen([("微信", "其他")])
    with pytest.raises(AttributeError, match="cannot be changed"):
        screen._automaton = None
    with pytest.raises(AttributeError, match="cannot be changed"):
        del screen._size
    assert screen.screen("微信")


def test_from_lists_reads_files(tmp_path):
    (tmp_path / "广告法.txt").write_text("最佳\n", encoding="utf-8")
    screen = WordScreen.from_lists([tmp_path / "广告法.txt"])
    assert _spans(screen, "本店最 佳") == [("最佳", "广告法", "最 佳")]


def test_one_screen_serves_many_threads():
    rng = random.Random(3)
    words = [("".join(rng.choices("微信加好友vx最佳", k=rng.randint(2, 4))), "a")
             for _ in range(50)]
    screen = WordScreen(words)
    texts = ["".join(rng.choices("微 信加-好友VXｖｘ最佳。", k=200)) for _ in range(200)]
    expected = [screen.screen(text) for text in texts]
    start = threading.Barrier(8)

    def work(offset: int) -> list:
        start.wait()
        return [screen.screen(texts[(offset + i) % len(texts)]) for i in range(len(texts))]

    with ThreadPoolExecutor(8) as pool:
        for offset, got in enumerate(pool.map(work, range(8))):
            assert got == expected[offset:] + expected[:offset]


# -- against a naive reference ---------------------------------------------------------------


def _reference_char(char: str) -> str:
    """The normalisation rule, written out again independently of the engine."""
    text = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", char).casefold())
    text = "".join(c for c in text if unicodedata.category(c)[0] in "LN")
    return unicodedata.normalize("NFKC", text)


def _reference(pairs: list[tuple[str, str]], text: str) -> list[Match]:
    """Every occurrence of every word by ``str.find``, mapped back character by character."""
    normalised, positions = "", []
    for index, char in enumerate(text):
        piece = _reference_char(char)
        normalised += piece
        positions += [index] * len(piece)
    words: dict[str, tuple[str, list[str]]] = {}
    for word, category in pairs:
        listed = words.setdefault("".join(map(_reference_char, word)), (word, []))[1]
        if category not in listed:
            listed.append(category)
    order = {c: i for i, c in enumerate(dict.fromkeys(c for _, c in pairs))}
    found = []
    for key, (word, categories) in words.items():
        at = normalised.find(key)
        while at >= 0:
            start, end = positions[at], positions[at + len(key) - 1] + 1
            for category in categories:
                found.append(((start, end, at, at + len(key), order[category]),
                              Match(word, category, start, end,
                                    text[max(0, start - CONTEXT):end + CONTEXT])))
            at = normalised.find(key, at + 1)
    found.sort(key=lambda item: item[0])
    return [match for _, match in found]


WORD_ALPHABET = "微信加好友vxV最佳的一是αд𠮷ß"
NOISE = " -.·*|/~\u200b，。🌸\u0301ＶＸｖ①㍻ﬁ"


@pytest.mark.parametrize("seed", range(20))
def test_matches_equal_a_naive_reference_on_random_texts(seed):
    rng = random.Random(seed)
    pairs = []
    for _ in range(rng.randint(1, 40)):
        word = "".join(rng.choices(WORD_ALPHABET, k=rng.randint(1, 5)))
        if rng.random() < 0.2:
            word = " ".join(word)
        if "".join(map(_reference_char, word)):
            pairs.append((word, rng.choice(["广告法", "金融", "辱骂", "竞品", "其他"])))
    screen = WordScreen(pairs)
    for _ in range(50):
        text = "".join(rng.choice(WORD_ALPHABET) if rng.random() < 0.7 else rng.choice(NOISE)
                       for _ in range(rng.randint(0, 120)))
        expected = _reference(pairs, text)
        assert screen.screen(text) == expected, text
        assert screen.first(text) == (expected[0] if expected else None), text
