"""Translations: every message of every siyu package has its Chinese text, a translation
keeps the message's placeholders, the language of a call is chosen in the documented order,
and each console user may choose their own language.

The catalogue checks read the ``.po`` files as ``siyu i18n check`` does
(:mod:`siyu.core.i18n_catalogues`): a message added to the code without a translation fails
here with its text, so run ``siyu i18n update``, translate the empty ``msgstr`` lines, and
run the tests again.
"""

from __future__ import annotations

import re
import string
from collections import Counter

import pytest

from siyu.core import i18n, i18n_catalogues
from siyu.core.errors import PermissionDenied, ValidationError
from siyu.core.i18n import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    LazyText,
    Translator,
    core,
    current_language,
    normalize_language,
    set_default_language,
    set_language_resolver,
    translator,
    use_language,
)

PACKAGES = i18n_catalogues.packages()
#: Languages with a catalogue (English is the language of the code).
TRANSLATED = [code for code in LANGUAGES if code != "en"]
#: printf-style fields, as argparse's own texts use them (``%s``, ``%(prog)s``).
PERCENT_FIELD = re.compile(r"%(?:\(\w+\))?[#0 +-]?\d*(?:\.\d+)?[sdirf%]")


@pytest.fixture
def clean_language(monkeypatch):
    """No scoped language, no resolver, no process default, no ``SIYU_LANGUAGE``; and so
    again after the test."""
    monkeypatch.delenv("SIYU_LANGUAGE", raising=False)
    saved = getattr(i18n, "_default", None)
    set_default_language(None)
    set_language_resolver(None)
    yield
    set_language_resolver(None)
    set_default_language(saved)


# -- (a) every message is translated -----------------------------------------------------------


def test_siyu_has_catalogues_for_its_packages():
    assert {"siyu", "siyu.plugins.livecodes", "siyu.plugins.wecom"} <= set(PACKAGES)


@pytest.mark.parametrize("language", TRANSLATED)
@pytest.mark.parametrize("package", PACKAGES)
def test_every_message_has_a_translation(package, language):
    missing = i18n_catalogues.untranslated(package, language)
    assert not missing, (
        f"{len(missing)} message(s) of {package} have no {language} translation in "
        f"{i18n_catalogues.po_path(package, language)}; run `siyu i18n update --package "
        f"{package}` and fill in their msgstr lines:\n" + "\n".join(map(repr, missing)))


# -- (b) a translation keeps the placeholders ----------------------------------------------------


def placeholders(text: str) -> Counter:
    """The ``{name!conversion:spec}`` and ``%(name)s`` fields of ``text``, counted.

    :raises ValueError: ``text`` is no valid format string (a stray brace).
    """
    fields: Counter = Counter()
    for _literal, name, spec, conversion in string.Formatter().parse(text):
        if name is not None:
            fields[f"{{{name}{'!' + conversion if conversion else ''}"
                   f"{':' + spec if spec else ''}}}"] += 1
    fields.update(m for m in PERCENT_FIELD.findall(text) if m != "%%")
    return fields


def test_placeholders_are_read_with_conversions_specs_and_percent_fields():
    assert placeholders("{value!r} is {n:,} of {{literal}} %s, %(prog)s") == Counter(
        ["{value!r}", "{n:,}", "%s", "%(prog)s"])


def _entries(package: str, language: str):
    for message in i18n_catalogues.read(package, language):
        if message.id and message.string:
            yield message


@pytest.mark.parametrize("language", TRANSLATED)
@pytest.mark.parametrize("package", PACKAGES)
def test_translations_keep_the_placeholders_of_their_message(package, language):
    wrong = []
    for message in _entries(package, language):
        if isinstance(message.id, tuple | list):  # plural: each form as the plural message
            source, forms = message.id[-1], [s for s in message.string if s]
        else:
            source, forms = message.id, [message.string]
        for form in forms:
            try:
                same = placeholders(form) == placeholders(source)
            except ValueError as exc:
                same, form = False, f"{form} ({exc})"
            if not same:
                wrong.append(f"{source!r} -> {form!r}")
    assert not wrong, (f"{package} ({language}): translations whose placeholders differ "
                       f"from their message's:\n" + "\n".join(wrong))


# -- (c) which language, and how messages are translated -----------------------------------------


def test_the_default_language_is_chinese(clean_language):
    assert DEFAULT_LANGUAGE == "zh_CN"
    assert current_language() == "zh_CN"


def test_language_is_chosen_in_the_documented_order(clean_language, monkeypatch):
    monkeypatch.setenv("SIYU_LANGUAGE", "en")
    assert current_language() == "en"                     # SIYU_LANGUAGE beats the default
    set_default_language("zh")
    assert current_language() == "zh_CN"                  # the process default beats it
    set_language_resolver(lambda: "en")
    assert current_language() == "en"                     # the resolver beats the default
    with use_language("zh_CN"):
        assert current_language() == "zh_CN"              # use_language beats everything
        with use_language(None):                          # None leaves it as it is
            assert current_language() == "zh_CN"
    assert current_language() == "en"                     # and ends with its block
    set_language_resolver(lambda: None)                   # a resolver that does not know
    assert current_language() == "zh_CN"
    set_default_language(None)
    assert current_language() == "en"
    monkeypatch.setenv("SIYU_LANGUAGE", "klingon")        # unusable: the default, no crash
    assert current_language() == "zh_CN"


@pytest.mark.parametrize(("given", "code"), [
    ("zh_CN", "zh_CN"), ("zh", "zh_CN"), ("zh-CN", "zh_CN"), ("ZH_cn", "zh_CN"),
    ("zh-Hans", "zh_CN"), ("中文", "zh_CN"), ("简体中文", "zh_CN"), (" chinese ", "zh_CN"),
    ("en", "en"), ("en_US", "en"), ("en-GB", "en"), ("en_US.UTF-8", "en"), ("English", "en"),
])
def test_normalize_language_accepts_aliases(given, code):
    assert normalize_language(given) == code


@pytest.mark.parametrize("given", ["fr", "", "  ", "zh_TW", "klingon"])
def test_normalize_language_names_the_languages_siyu_ships(given):
    with pytest.raises(ValueError, match="use one of: zh_CN, en"):
        normalize_language(given)


def _core_translated() -> str:
    """A message of the core catalogue that has a Chinese text."""
    catalogue = core.catalogue("zh_CN")
    for message, text in catalogue._catalog.items():  # the compiled catalogue
        if isinstance(message, str) and message and text and "{" not in message:
            return message
    pytest.skip("the core catalogue translates nothing yet")


def test_messages_are_translated_into_the_current_language(clean_language):
    message = _core_translated()
    with use_language("zh_CN"):
        chinese = core(message)
    with use_language("en"):
        assert core(message) == message
    assert chinese != message
    assert core("a message nobody translated {x}", x=1) == "a message nobody translated 1"


def test_lazy_text_is_translated_each_time_it_is_shown(clean_language):
    message = _core_translated()
    text = core.lazy(message)
    assert isinstance(text, LazyText)
    assert text.source == message
    with use_language("en"):
        assert str(text) == f"{text}" == message
        assert len(text) == len(message)
        assert text + "!" == message + "!" and "¡" + text == "¡" + message
    with use_language("zh_CN"):
        chinese = str(text)
        assert chinese != message
        assert text == chinese                            # equal to its shown text
        assert f"[{text:>30}]" == f"[{chinese:>30}]"
    assert text == message and text == core.lazy(message)  # and to its source
    assert hash(text) == hash(core.lazy(message))
    assert {text: 1}[core.lazy(message)] == 1
    assert repr(text) == f"LazyText({message!r})"
    filled = core.lazy("{n} of {total}", n=1, total=2)
    assert str(filled) == "1 of 2"


def _plugin_folder(tmp_path, entries: dict[str, str]):
    """A plugin's folder with a Chinese catalogue holding ``entries``."""
    folder = tmp_path / "coupons"
    po = folder / "locale" / "zh_CN" / "LC_MESSAGES" / "messages.po"
    po.parent.mkdir(parents=True)
    lines = ['msgid ""', 'msgstr ""', '"Content-Type: text/plain; charset=UTF-8\\n"', ""]
    for message, text in entries.items():
        lines += [f'msgid "{message}"', f'msgstr "{text}"', ""]
    po.write_text("\n".join(lines), encoding="utf-8")
    return folder


def test_a_plugin_translator_falls_back_to_the_core_catalogue(clean_language, tmp_path):
    shared = _core_translated()
    _ = translator(str(_plugin_folder(tmp_path, {"Coupons": "优惠券"})))
    assert _.fallback is core
    with use_language("zh_CN"):
        assert _("Coupons") == "优惠券"                     # its own catalogue
        assert _(shared) == core(shared) != shared         # siyu's, for what it lacks
        assert _("Nobody has this") == "Nobody has this"   # English, for what neither has
        assert str(_.lazy("Coupons")) == "优惠券"
    with use_language("en"):
        assert _("Coupons") == "Coupons"


def test_a_translator_without_fallback_shows_english(clean_language, tmp_path):
    shared = _core_translated()
    alone = Translator(_plugin_folder(tmp_path, {"Coupons": "优惠券"}))
    with use_language("zh_CN"):
        assert alone(shared) == shared


def test_plurals_pick_the_form_for_n(clean_language):
    with use_language("en"):
        assert core.ngettext("{n} apple", "{n} apples", 1) == "1 apple"
        assert core.ngettext("{n} apple", "{n} apples", 3, where="here") == "3 apples"


def test_an_unknown_package_is_named(clean_language):
    with pytest.raises(ValueError, match="no_such_package_for_siyu"):
        Translator("no_such_package_for_siyu").locale_dir  # noqa: B018


# -- (d) each user's own language ------------------------------------------------------------------


@pytest.fixture
def users(ws):
    ws.users.add("ada", "operator", "long-enough-1")
    ws.users.add("bob", "analyst", "long-enough-2")
    return ws


def test_a_user_sets_their_own_language(users):
    ada = users.as_user(users.users.principal("ada"))
    assert users.users.principal("ada").language is None     # the workspace's
    assert ada.users.set_language("ada", "English") == "en"
    assert users.users.principal("ada").language == "en"
    token = users.users.start_session("ada", hours=1)
    assert users.users.session_principal(token).language == "en"
    assert ada.users.set_language("ada", None) is None
    assert users.users.principal("ada").language is None


def test_a_user_may_not_set_another_users_language(users):
    ada = users.as_user(users.users.principal("ada"))
    with pytest.raises(PermissionDenied):
        ada.users.set_language("bob", "en")
    assert users.users.principal("bob").language is None
    assert users.users.set_language("bob", "en") == "en"     # users.manage may
    assert users.users.principal("bob").language == "en"


def test_an_unknown_user_language_is_refused(users):
    with pytest.raises(ValidationError, match="zh_CN, en"):
        users.users.set_language("ada", "fr")
    assert users.users.principal("ada").language is None


def test_the_workspace_language_is_stored_and_checked(ws, monkeypatch):
    monkeypatch.delenv("SIYU_LANGUAGE", raising=False)
    assert ws.language == "zh_CN"
    monkeypatch.setenv("SIYU_LANGUAGE", "en")
    assert ws.language == "en"                              # unset: SIYU_LANGUAGE
    assert ws.set_language("中文") == "zh_CN"
    assert ws.language == "zh_CN"                           # set: the setting
    with pytest.raises(ValidationError, match="zh_CN, en"):
        ws.set_language("fr")


# -- siyu i18n update / check ------------------------------------------------------------------


def test_i18n_commands_keep_a_plugin_catalogue_in_step(tmp_path, capsys, monkeypatch):
    from siyu.cli import main

    monkeypatch.setenv("SIYU_LANGUAGE", "en")
    folder = tmp_path / "gifts"
    folder.mkdir()
    code = folder / "__init__.py"
    code.write_text('from siyu.core.i18n import translator\n_ = translator(__name__)\n'
                    'TITLE = _.lazy("Gifts")\n'
                    'def given(n):\n    return _.ngettext("{n} gift", "{n} gifts", n)\n',
                    encoding="utf-8")
    package = str(folder)
    assert main(["i18n", "update", "--package", package]) == 0
    out = capsys.readouterr().out
    assert f"{package} (zh_CN): 2 messages, 2 new, 0 kept, 0 dropped; 2 untranslated" in out
    assert (folder / "locale" / "zh_CN" / "LC_MESSAGES" / "messages.po").is_file()

    assert main(["i18n", "check", "--package", package]) == 1
    out = capsys.readouterr().out
    assert "2 of 2 messages untranslated" in out
    assert "    'Gifts'" in out and "    '{n} gift'" in out

    i18n_catalogues.update(package, "zh_CN", {"Gifts": "礼品", "{n} gift": "{n} 件礼品"})
    assert main(["i18n", "check", "--package", package, "--language", "zh"]) == 0
    assert "2 messages, all translated" in capsys.readouterr().out

    code.write_text('from siyu.core.i18n import translator\n_ = translator(__name__)\n'
                    'TITLE = _.lazy("Gifts")\n', encoding="utf-8")
    assert main(["i18n", "update", "--package", package]) == 0
    assert "1 message, 0 new, 1 kept, 1 dropped; 0 untranslated" in capsys.readouterr().out
    with use_language("zh_CN"):
        assert Translator(package)("Gifts") == "礼品"


@pytest.mark.parametrize(("argv", "fragment"), [
    (["--package", "no_such_package_for_siyu"], "no package 'no_such_package_for_siyu'"),
    (["--language", "en"], "needs no catalogue"),
    (["--language", "fr"], "unknown language 'fr'"),
])
def test_i18n_commands_refuse_what_they_cannot_work_on(capsys, monkeypatch, argv, fragment):
    from siyu.cli import main

    monkeypatch.setenv("SIYU_LANGUAGE", "en")
    for action in ("check", "update"):
        assert main(["i18n", action, *argv]) == 2
        err = capsys.readouterr().err
        assert err.startswith("siyu: error: ") and fragment in err


def test_a_compiled_catalogue_is_cached_between_processes(tmp_path, monkeypatch):
    """The second process to use a language reads the cached compiled catalogue, not the
    ``.po`` file through Babel; a changed ``.po`` is compiled again."""
    from siyu.core import i18n

    monkeypatch.setenv("SIYU_CACHE_DIR", str(tmp_path / "cache"))
    package = tmp_path / "cachedpkg"
    (package / "locale" / "zh_CN" / "LC_MESSAGES").mkdir(parents=True)
    (package / "__init__.py").write_text('from siyu.core.i18n import translator\n'
                                         '_ = translator("cachedpkg")\nX = _.lazy("Hello")\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    from siyu.core import i18n_catalogues
    i18n_catalogues.update("cachedpkg", "zh_CN", {"Hello": "你好"})
    first = i18n.Translator("cachedpkg")
    with i18n.use_language("zh_CN"):
        assert first("Hello") == "你好"
    cached = list((tmp_path / "cache" / "i18n").glob("*.mo"))
    assert len(cached) == 1
    compiled = []
    monkeypatch.setattr("babel.messages.pofile.read_po",
                        lambda *a, **k: compiled.append(1) or (_ for _ in ()).throw(
                            AssertionError("compiled again")))
    with i18n.use_language("zh_CN"):
        assert i18n.Translator("cachedpkg")("Hello") == "你好"  # a new process's translator
    assert compiled == []
    monkeypatch.undo()
    monkeypatch.setenv("SIYU_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.syspath_prepend(str(tmp_path))
    i18n_catalogues.update("cachedpkg", "zh_CN", {"Hello": "您好"})
    with i18n.use_language("zh_CN"):
        assert first("Hello") == "您好"  # translators in use see the update
