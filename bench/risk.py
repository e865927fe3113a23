"""Benchmark: sensitive-word screening with the Aho-Corasick WordScreen next to a plain loop.

Target (risk issue): screening 100,000 messages of about 200 characters against 10,000
sensitive words, :class:`siyu.plugins.risk.screen.WordScreen` is at least 50x faster (messages
per second) than a plain ``for word in words: if word in text`` loop, with identical matches.

- **data** (seeded): 10,000 words in the categories 广告法, 金融, 辱骂, 竞品 and 其他, about
  100 of them hand-written (全网最低, 稳赚不赔, 加微信, vx…) and the rest made of 2 to 6 common
  Chinese characters, with about 4% Latin (brand-like names); some words sit in two
  categories. Messages are marketing text (greetings, offers, prices, dates, emoji) built from
  a pool of phrases until they reach about 200 characters. About 1.5% carry a risky phrase
  that holds a hand-written word, and about 3% get a listed word planted between two phrases,
  often written to dodge a filter (``微 信``, ``微-信``, ``ＶＸ``, ``v.x``, zero-width spaces). The
  generated words contain no two characters that the phrases can put side by side, so only
  the risky phrases and the plants match.
- **ours**: ``screen.screen(text)`` on every message, as written: normalisation, the
  automaton, and a :class:`~siyu.plugins.risk.screen.Match` with original positions and an
  excerpt for each occurrence.
- **baseline** ("plain loop"): ``for word in words: if word in text`` over the normalised
  words, on messages normalised *before* the clock starts (so the baseline gets the
  normalisation for free). It only says which words occur, not where.

The plain loop takes about 2 ms a message, so it runs on a seeded sample of ``--sample``
messages (default 2,000), while ours runs on all of them; both figures are messages per
second, and the speed-up is ours (all messages) / plain loop (sample). Ours also runs on the
sample alone, for the identity check and a same-messages speed-up shown next to it.

Answers: on the sample, the set of (message, normalised word) found by ours must equal the
plain loop's; on all messages, ours must find every planted word and give the same matches
on every run. Otherwise the script prints ``WRONG ANSWER`` and exits with status 1.

Run ``python bench/risk.py --help`` for the options; see ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from siyu.plugins.risk.screen import WordScreen, normalise

BENCH = "risk"
TARGET = 50.0
CATEGORIES = ("广告法", "金融", "辱骂", "竞品", "其他")
CATEGORY_WEIGHTS = (30, 20, 15, 15, 20)
TWO_CATEGORY_SHARE = 0.02
LATIN_SHARE = 0.04
RISKY_SHARE = 0.015
PLANT_SHARE = 0.03
EVASION_SHARE = 0.4
MESSAGE_CHARS = 200

#: Hand-written words per category, some of them Latin.
CURATED = {
    "广告法": ("最佳 最高级 国家级 第一品牌 全网最低 绝对有效 百分百有效 史上最低 "
            "顶级工艺 永久保值 根治 特效药 零风险 无副作用 销量冠军 最便宜 独一无二 "
            "全球首发 万能 祖传秘方").split(),
    "金融": ("稳赚不赔 保本保息 高额返利 躺赚 日息 贷款秒批 无抵押贷款 套现 内部消息 "
           "资金盘 刷单返现 投资翻倍 月入过万 原始股 虚拟币 USDT").split(),
    "辱骂": ("垃圾 骗子 滚蛋 白痴 脑残 废物 傻帽 神经病 智障 蠢货").split(),
    "竞品": ("vx wx weixin V信 薇信 taobao pdd 拼夕夕 某宝 某东 Lumora Kesai Velanne "
           "Brightwell").split(),
    "其他": ("加微信 微信 私聊 加我好友 扫码加群 转账 红包返现 二维码 私下交易 刷好评 "
           "代购 QQ群").split(),
}
#: Phrases that hold a hand-written word: about 1.5% of the messages carry one.
RISKY_PHRASES = ("全网最低价，错过再等一年 稳赚不赔的理财福利 加微信领取专属优惠券 "
                 "扫码加群抽免单 销量冠军同款 私聊客服享内部价 转账立减20元 "
                 "全球首发限量款 零风险试用七天 比某宝还便宜 加我好友送小样 "
                 "刷好评返现5元").split()
#: Ordinary marketing phrases; messages are built from them.
PHRASES = ("亲爱的会员您好 感谢您一直以来的支持 新品上市 限时优惠 欢迎到店体验 "
           "本周末会员日 全场满299减50 会员专享折扣 积分可抵现金 点击链接立即抢购 "
           "库存有限先到先得 门店地址见小程序 活动时间 详情请咨询导购 春季新款已到店 "
           "夏日清凉好物推荐 秋冬保湿套装 年货节特惠 下单即送精美礼品 买二送一 "
           "第二件半价 包邮到家 七天无理由退换 专属顾问一对一服务 预约到店试用 "
           "新客首单立减 老客回馈福利 生日当月双倍积分 您的优惠券即将过期 记得及时使用哦 "
           "直播间专属价 今晚八点准时开播 锁定直播间 好评晒单有礼 邀请好友一起逛 "
           "拼团更划算 会员升级礼包已发放 点击查看您的权益 祝您生活愉快 期待您的光临 "
           "护肤小课堂 彩妆新手教程 香氛礼盒限量发售 母婴用品专区 运动装备上新 "
           "健康美食推荐 早鸟价仅限三天 线上线下同价 支持门店自提 顺丰包邮 正品保障 "
           "官方授权门店 温馨提示 天气转凉注意保暖 周年庆盛典 品牌日大促 满额赠好礼 "
           "会员积分兑换 限量抢购中 售完即止 回复数字1了解详情 退订请回复T").split()
FILLERS = ["🎁", "🔥", "✨", "👉", "🌸", "【会员福利】", "【新品】", "VIP", "App", "Plus", "Pro",
           "¥199", "¥89", "3折", "5折起", "12月12日", "3月8日", "第1波", "TOP10", "No.1"]
PUNCTUATION = ["，", "！", "。", "～", "、", " ", "\n", "：", "...", "!!"]
SEPARATORS = [" ", "-", "·", "*", "\u200b", "|", "/", "～", "、", "🌸", "_", ".", "\u3000"]
#: A frequency-ordered set of common Chinese characters: the generated words' alphabet.
COMMON = ("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能"
          "下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加"
          "量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与"
          "关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者"
          "最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少"
          "图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处队南给色光"
          "门即保治北造百规热领七海口东导器压志世金增争济阶油思术极交受联什认六共权收证改清己美再采"
          "转更单风切打白教速花带安场身车例真务具万每目至达走积示议声报斗完类八离华名确才科张信马节"
          "话米整空元况今集温传土许步群广石记需段研界拉林律叫且究观越织装影算低持音众书布复容儿须际"
          "商非验连断深难近矿千周委素技备半办青省列习响约支般史感劳便团往酸历市克何除消构府称太准精"
          "值号率族维划选标写存候毛亲快效斯院查江型眼王按格养易置派层片始却专状育厂京识适属圆包火住"
          "调满县局照参红细引听该铁价严龙飞")
LATIN_SYLLABLES = ["lu", "mo", "ra", "ke", "sa", "ve", "lan", "ne", "bri", "ght", "wel", "zo",
                   "qi", "xi", "dor", "ta", "mi", "no", "vo", "ri", "ka", "shu", "tin", "el"]


class WrongAnswer(Exception):
    """Ours and the baseline disagree, or ours missed a planted word."""


@dataclass
class Dataset:
    """The generated words and messages."""

    pairs: list[tuple[str, str]]       # (word, category), as a word list would give them
    keys: list[str]                    # the distinct normalised words, for the plain loop
    key_of: dict[str, str]             # listed word -> normalised word
    messages: list[str]
    planted: list[tuple[int, str]]     # (message, normalised word) planted in it
    risky: int                         # messages that carry a risky phrase


# -- the data -------------------------------------------------------------------------------

def _key(word: str) -> str:
    return normalise(word)[0]


def _bigrams(text: str) -> set[str]:
    return {text[i:i + 2] for i in range(len(text) - 1)}


def _reachable_bigrams() -> set[str]:
    """Every pair of normalised characters a message can hold, inside a phrase or where two
    phrases (or a phrase and a plant) meet; a generated word with none of them can only match
    where it was planted."""
    pieces = [_key(piece) for piece in PHRASES + FILLERS + RISKY_PHRASES]
    pieces = [piece for piece in pieces if piece]
    found: set[str] = set()
    for piece in pieces:
        found |= _bigrams(piece)
    ends = {piece[-1] for piece in pieces}
    starts = {piece[0] for piece in pieces}
    found |= {end + start for end in ends for start in starts}
    return found


def _latin_word(rng: random.Random) -> str:
    word = "".join(rng.choice(LATIN_SYLLABLES) for _ in range(rng.randint(2, 3)))
    return word.capitalize() if rng.random() < 0.6 else word


def generate_words(count: int, rng: random.Random) -> list[tuple[str, str]]:
    """``count`` distinct (normalised) words, as ``(word, category)`` pairs."""
    pairs: list[tuple[str, str]] = []
    seen: set[str] = set()
    for category, words in CURATED.items():
        for word in words:
            if len(seen) < count and _key(word) not in seen:
                seen.add(_key(word))
                pairs.append((word, category))
    reachable = _reachable_bigrams()
    alphabet = "".join(dict.fromkeys(COMMON))
    # A skew towards the frequent characters, as real words have.
    weights = [1 / (rank + 20) for rank in range(len(alphabet))]
    while len(seen) < count:
        if rng.random() < LATIN_SHARE:
            word = _latin_word(rng)
        else:
            length = rng.choices((2, 3, 4, 5, 6), weights=(25, 25, 30, 12, 8))[0]
            word = "".join(rng.choices(alphabet, weights=weights, k=length))
        key = _key(word)
        if key in seen or _bigrams(key) & reachable:
            continue
        seen.add(key)
        category = rng.choices(CATEGORIES, weights=CATEGORY_WEIGHTS)[0]
        pairs.append((word, category))
        if rng.random() < TWO_CATEGORY_SHARE:
            pairs.append((word, rng.choice([c for c in CATEGORIES if c != category])))
    return pairs


def _evade(word: str, rng: random.Random) -> str:
    """``word`` written the way people dodge a filter."""
    if word.isascii() and rng.random() < 0.5:
        word = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in word)
        return word.upper() if rng.random() < 0.5 else word
    separator = rng.choice(SEPARATORS)
    return separator.join(word)


def generate_messages(count: int, words: list[str], rng: random.Random
                      ) -> tuple[list[str], list[tuple[int, str]], int]:
    """``count`` messages of about :data:`MESSAGE_CHARS` characters, the plants and how many
    messages carry a risky phrase."""
    messages: list[str] = []
    planted: list[tuple[int, str]] = []
    risky = 0
    for index in range(count):
        target = MESSAGE_CHARS + rng.randint(-20, 20)
        parts: list[str] = []
        length = 0
        while length < target:
            piece = rng.choice(FILLERS) if rng.random() < 0.15 else rng.choice(PHRASES)
            parts.append(piece + rng.choice(PUNCTUATION))
            length += len(parts[-1])
        if rng.random() < RISKY_SHARE:
            parts.insert(rng.randrange(len(parts) + 1), rng.choice(RISKY_PHRASES) + "！")
            risky += 1
        if rng.random() < PLANT_SHARE:
            word = rng.choice(words)
            written = _evade(word, rng) if rng.random() < EVASION_SHARE else word
            parts.insert(rng.randrange(len(parts) + 1), written)
            planted.append((index, _key(word)))
        messages.append("".join(parts))
    return messages, planted, risky


def generate(messages: int, words: int, seed: int) -> Dataset:
    """Seeded words and messages; the same arguments give the same data."""
    rng = random.Random(seed)
    pairs = generate_words(words, rng)
    key_of = {word: _key(word) for word, _ in pairs}
    keys = list(dict.fromkeys(key_of.values()))
    listed = list(dict.fromkeys(word for word, _ in pairs))
    texts, planted, risky = generate_messages(messages, listed, rng)
    return Dataset(pairs, keys, key_of, texts, planted, risky)


# -- the two sides --------------------------------------------------------------------------

def run_ours(screen: WordScreen, texts: list[str]) -> tuple[float, list]:
    """Seconds to screen every text, and the matches of each."""
    check = screen.screen
    gc.collect()
    start = time.perf_counter()
    results = [check(text) for text in texts]
    return time.perf_counter() - start, results


def run_plain_loop(keys: list[str], normalised: list[str]) -> tuple[float, list]:
    """Seconds for the plain loop over the (already normalised) texts, and the
    ``(text index, word)`` pairs it found."""
    gc.collect()
    start = time.perf_counter()
    found = []
    for index, text in enumerate(normalised):
        for word in keys:
            if word in text:
                found.append((index, word))
    return time.perf_counter() - start, found


def _found(data: Dataset, results: list, indexes: list[int]) -> set[tuple[int, str]]:
    pairs = zip(indexes, results, strict=True)
    return {(index, data.key_of[match.word]) for index, matches in pairs for match in matches}


def peak_memory_mb() -> float:
    """The process's peak resident set, in MB (0 when unknown)."""
    return _status_mb("VmHWM:")


def _status_mb(field: str) -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


@dataclass
class Runs:
    """Timed runs of every side, in seconds."""

    build: list[float]
    ours_all: list[float]
    ours_sample: list[float]
    plain: list[float]


def measure(data: Dataset, sample: list[int], repeat: int) -> tuple[Runs, dict]:
    """Build the screen, warm up, then alternate the timed runs, checking every answer."""
    rss_before = _status_mb("VmRSS:")
    start = time.perf_counter()
    screen = WordScreen(data.pairs)
    first_build = time.perf_counter() - start
    screen_mb = _status_mb("VmRSS:") - rss_before
    if len(screen) != len(data.keys):
        raise WrongAnswer(f"the screen holds {len(screen):,} words, the list {len(data.keys):,}")
    sample_texts = [data.messages[index] for index in sample]
    normalised = [normalise(text)[0] for text in sample_texts]

    # Warm-up: the character cache, the automaton's pages, the loop's code paths.
    run_ours(screen, data.messages[:2000])
    run_plain_loop(data.keys, normalised[:20])

    expected_all: set[tuple[int, str]] | None = None
    all_indexes = list(range(len(data.messages)))
    answers: dict[str, set] = {}

    def ours_all() -> float:
        nonlocal expected_all
        seconds, results = run_ours(screen, data.messages)
        found = _found(data, results, all_indexes)
        if expected_all is None:
            missed = [pair for pair in data.planted if pair not in found]
            if missed:
                index, word = missed[0]
                raise WrongAnswer(f"ours missed {len(missed):,} planted words, the first "
                                  f"{word!r} in message {index}: {data.messages[index]!r}")
            expected_all = found
        elif found != expected_all:
            raise WrongAnswer(f"ours found {len(found):,} (message, word) pairs on this run, "
                              f"{len(expected_all):,} before")
        return seconds

    def ours_sample() -> float:
        seconds, results = run_ours(screen, sample_texts)
        answers["ours"] = _found(data, results, list(range(len(sample))))
        return seconds

    def plain() -> float:
        seconds, found = run_plain_loop(data.keys, normalised)
        answers["plain"] = set(found)
        return seconds

    runs = Runs(build=[first_build], ours_all=[], ours_sample=[], plain=[])
    sides: list[tuple[str, int, Callable[[], float], list[float]]] = [
        ("ours (all messages)", len(data.messages), ours_all, runs.ours_all),
        ("ours (sample)", len(sample), ours_sample, runs.ours_sample),
        ("plain loop (sample)", len(sample), plain, runs.plain)]
    for rep in range(repeat):
        for label, size, side, seconds in (sides if rep % 2 == 0 else sides[::-1]):
            seconds.append(side())
            print(f"  run {rep + 1}/{repeat} {label:<20} {seconds[-1]:8.3f} s "
                  f"{size / seconds[-1]:12,.0f} messages/s", flush=True)
        _compare(sample, answers["ours"], answers["plain"])
        start = time.perf_counter()
        WordScreen(data.pairs)
        runs.build.append(time.perf_counter() - start)

    assert expected_all is not None
    in_sample = set(sample)
    facts = {
        "matches_checked": len(answers["plain"]),
        "sample_messages_matching": len({index for index, _ in answers["plain"]}),
        "all_pairs": len(expected_all),
        "all_messages_matching": len({index for index, _ in expected_all}),
        "planted": len(data.planted),
        "planted_in_sample": sum(index in in_sample for index, _ in data.planted),
        "screen_mb": screen_mb,
        "categories": len(screen.categories),
    }
    return runs, facts


def _compare(sample: list[int], ours: set, plain: set) -> None:
    if ours == plain:
        return
    only_ours = sorted(ours - plain)[:3]
    only_plain = sorted(plain - ours)[:3]
    raise WrongAnswer(
        f"on the sample, ours found {len(ours):,} (message, word) pairs and the plain loop "
        f"{len(plain):,}; only ours: "
        + ", ".join(f"{word!r} in message {sample[i]}" for i, word in only_ours)
        + "; only the plain loop: "
        + ", ".join(f"{word!r} in message {sample[i]}" for i, word in only_plain))


# -- report ---------------------------------------------------------------------------------

def results(data: Dataset, sample: list[int], runs: Runs) -> dict:
    """Medians, rates and the verdict."""
    ours_all = statistics.median(runs.ours_all)
    ours_sample = statistics.median(runs.ours_sample)
    plain = statistics.median(runs.plain)
    ours_rate = len(data.messages) / ours_all
    ours_sample_rate = len(sample) / ours_sample
    plain_rate = len(sample) / plain
    speedup = ours_rate / plain_rate
    return {"ours_all_s": ours_all, "ours_sample_s": ours_sample, "plain_s": plain,
            "ours_per_s": ours_rate, "ours_sample_per_s": ours_sample_rate,
            "baseline_per_s": plain_rate, "speedup": speedup,
            "sample_speedup": ours_sample_rate / plain_rate,
            "build_s": statistics.median(runs.build), "met": speedup >= TARGET}


def print_table(args: argparse.Namespace, data: Dataset, sample: list[int], runs: Runs,
                res: dict, facts: dict) -> None:
    """The human-readable report."""
    chars = sum(map(len, data.messages)) / len(data.messages)
    print()
    print(f"risk: screening {len(data.messages):,} messages (mean {chars:.0f} characters) "
          f"against {len(data.keys):,} words in {facts['categories']} categories "
          f"(seed {args.seed}), median of {args.repeat} alternating runs each")
    print("  ours       = WordScreen.screen(text) on the message as written: normalise, "
          "automaton, Match objects")
    print("  plain loop = for word in words: if word in text, on the normalised message "
          "(normalised before timing)")
    print(f"  the plain loop runs on a seeded sample of {len(sample):,} messages; ours runs on "
          f"all {len(data.messages):,} and on the sample")
    print()
    header = (f"  {'side':<22} {'messages':>9} {'median s':>9} {'messages/s':>11}   runs (s)")
    print(header)
    print("  " + "-" * (len(header) - 2))
    for label, size, seconds in (("ours (all messages)", len(data.messages), runs.ours_all),
                                 ("ours (sample)", len(sample), runs.ours_sample),
                                 ("plain loop (sample)", len(sample), runs.plain)):
        median = statistics.median(seconds)
        print(f"  {label:<22} {size:>9,} {median:>9.3f} {size / median:>11,.0f}   "
              + " ".join(f"{value:.3f}" for value in seconds))
    print()
    verdict = "met" if res["met"] else "NOT met"
    print(f"  speed-up, ours (all messages) / plain loop (sample): {res['speedup']:.1f}x   "
          f"target >= {TARGET:g}x: {verdict}")
    print(f"  speed-up on the same sample, ours / plain loop: {res['sample_speedup']:.1f}x")
    print(f"  build: WordScreen of {len(data.keys):,} words median {res['build_s']:.3f} s "
          f"(runs " + " ".join(f"{value:.3f}" for value in runs.build) + "), "
          f"about {facts['screen_mb']:.0f} MB resident")
    print(f"  peak memory of this process: {peak_memory_mb():,.0f} MB")
    print(f"  answers: identical on the sample on every run, {facts['matches_checked']:,} "
          f"(message, word) pairs in {facts['sample_messages_matching']:,} messages "
          f"({facts['planted_in_sample']:,} planted)")
    print(f"  ours on all messages: every one of the {facts['planted']:,} planted words found; "
          f"{facts['all_pairs']:,} (message, word) pairs in "
          f"{facts['all_messages_matching']:,} messages "
          f"({facts['all_messages_matching'] / len(data.messages):.1%}), the same on every run")
    print()


def json_line(data: Dataset, sample: list[int], res: dict, facts: dict, seed: int) -> dict:
    """The summary for tools, printed last."""
    return {"bench": BENCH, "case": "screen", "messages": len(data.messages),
            "words": len(data.keys), "sample": len(sample),
            "ours_per_s": round(res["ours_per_s"], 1), "ours_on": "all messages",
            "baseline": "plain loop", "baseline_per_s": round(res["baseline_per_s"], 1),
            "baseline_on": "sample", "speedup": round(res["speedup"], 2),
            "sample_speedup": round(res["sample_speedup"], 2),
            "target": f"speedup >= {TARGET:g}", "met": bool(res["met"]),
            "matches_checked": facts["matches_checked"], "identical": True,
            "messages_matching": facts["all_messages_matching"],
            "build_s": round(res["build_s"], 4), "peak_mb": round(peak_memory_mb()),
            "seed": seed}


# -- main -----------------------------------------------------------------------------------

def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line; see ``--help``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", "--size", dest="messages", type=int, default=100_000,
                        help="messages to screen (default: 100000)")
    parser.add_argument("--words", type=int, default=10_000,
                        help="sensitive words in the screen (default: 10000)")
    parser.add_argument("--sample", type=int, default=2_000,
                        help="messages the plain loop runs on, a seeded sample (default: 2000)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="timed runs of each side, at least 3; the median is reported "
                             "(default: 3)")
    parser.add_argument("--seed", type=int, default=20251125,
                        help="data generator seed (default: 20251125)")
    args = parser.parse_args(argv)
    if args.messages < 1 or args.sample < 1:
        parser.error("--messages and --sample must be at least 1")
    minimum = sum(map(len, CURATED.values()))
    if args.words < minimum:
        parser.error(f"--words must be at least {minimum} (the hand-written words)")
    if args.repeat < 3:
        parser.error("--repeat must be at least 3 (the median of 3 or more runs is reported)")
    args.sample = min(args.sample, args.messages)
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the bench; 0 when it ran and the answers agreed (met or not), 1 otherwise."""
    args = parse_args(argv)
    start = time.perf_counter()
    data = generate(args.messages, args.words, args.seed)
    sample = sorted(random.Random(args.seed + 1).sample(range(len(data.messages)),
                                                        args.sample))
    print(f"generated {len(data.keys):,} words and {len(data.messages):,} messages "
          f"({len(data.planted):,} planted words, {data.risky:,} risky phrases) in "
          f"{time.perf_counter() - start:.1f} s (seed {args.seed})", flush=True)
    try:
        runs, facts = measure(data, sample, args.repeat)
    except WrongAnswer as exc:
        print(f"WRONG ANSWER: {exc}", file=sys.stderr)
        return 1
    res = results(data, sample, runs)
    print_table(args, data, sample, runs, res, facts)
    print(json.dumps(json_line(data, sample, res, facts, args.seed), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
