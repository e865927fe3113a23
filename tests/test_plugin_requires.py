"""Plugins that need other plugins (``siyu_requires``) and WeCom state prefixes as records.

A plugin whose requirement is missing, disabled or broken is disabled before any of its hooks
runs, with a reason that ``siyu plugins``, ``ws.pm.describe()`` and the Plugins page show.
A WeCom ``state`` prefix is claimed with ``register_state_prefixes``; clashes are errors naming
both plugins, and ``ws.state_owner(state)`` routes a state to its plugin.

Every test builds a fresh plugin manager (or workspace) with temporary in-test plugins.
"""

from __future__ import annotations

import types

import pytest

import siyu
from siyu import hookimpl
from siyu.cli import main
from siyu.core.errors import PluginError
from siyu.core.plugins import collect_state_prefixes, get_plugin_manager
from siyu.core.records import ChannelSpec, StatePrefix

LIVE_CODE_PAGES = {"livecodes", "groupcodes", "livecode-reports"}


@pytest.fixture(autouse=True)
def plain_environment(monkeypatch):
    """No plugin switches or database inherited from the shell running the tests."""
    for name in ("SIYU_DISABLE_PLUGINS", "SIYU_TRACE_PLUGINS", "SIYU_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)


def plugin(name: str, requires=None, **hooks) -> types.ModuleType:
    """A module plugin called ``name`` with ``siyu_requires`` and the given hook functions."""
    module = types.ModuleType(name)
    if requires is not None:
        module.siyu_requires = requires
    for hook_name, func in hooks.items():
        setattr(module, hook_name, hookimpl(func))
    return module


def claiming(name: str, *prefixes: str | StatePrefix) -> types.ModuleType:
    """A plugin called ``name`` that claims ``prefixes`` (strings become records)."""
    records = [p if isinstance(p, StatePrefix) else StatePrefix(p) for p in prefixes]
    return plugin(name, register_state_prefixes=lambda: records)


def info_of(pm, name: str):
    return {info.name: info for info in pm.describe()}[name]


def run(capsys, monkeypatch, *argv, plugins=(), disable=None):
    """Run ``siyu argv…`` with the built-ins plus ``plugins``; return (code, out, err)."""
    monkeypatch.setattr("siyu.cli.get_plugin_manager", lambda: get_plugin_manager(
        plugins=plugins, load_entry_points=False, disable=disable))
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def line_of(output: str, name: str) -> int:
    lines = output.splitlines()
    return next(i for i, line in enumerate(lines) if line.split()[:1] == [name])


class FakeEntryPoint:
    """An entry point whose plugin raises while importing, as a broken add-on would."""

    name = "acme_crm"
    dist = None

    def load(self):
        raise ModuleNotFoundError("No module named 'acme'")


# -- requirements ---------------------------------------------------------------------------


def test_plugin_requiring_a_missing_plugin_is_disabled_with_the_reason():
    needy = plugin("needy", requires=("acme_crm",), on_contact_added=lambda contact: None)
    pm = get_plugin_manager(plugins=[needy], load_entry_points=False)
    info = info_of(pm, "needy")
    assert pm.get_plugin("needy") is None
    assert not [i for i in pm.hook.on_contact_added.get_hookimpls() if i.plugin_name == "needy"]
    assert info.blocked
    assert info.reason == "requires acme_crm, which is not installed"
    assert info.status == "disabled: requires acme_crm, which is not installed"
    assert pm.disabled_reasons == {"needy": "requires acme_crm, which is not installed"}


def test_plugin_whose_requirement_is_loaded_is_loaded_and_lists_it():
    needy = plugin("needy", requires=("default_segments",),
                   on_contact_added=lambda contact: None)
    pm = get_plugin_manager(plugins=[needy], load_entry_points=False)
    info = info_of(pm, "needy")
    assert pm.get_plugin("needy") is needy
    assert info.status == "loaded"
    assert info.requires == ("default_segments",)


def test_no_hook_of_a_disabled_dependant_is_called(db_url):
    calls = []

    def register_channels():
        calls.append("register_channels")
        return [ChannelSpec("fax")]

    def register_models():
        calls.append("register_models")
        return []

    needy = plugin("needy", requires=("acme_crm",), register_channels=register_channels,
                   register_models=register_models)
    with siyu.open(db_url, plugins=[needy], load_entry_points=False) as ws:
        assert "fax" not in ws.channels
    assert calls == []


def test_plugin_requiring_a_plugin_that_failed_to_load_is_disabled(monkeypatch):
    monkeypatch.setattr("siyu.core.plugins.metadata.entry_points",
                        lambda group: [FakeEntryPoint()])
    needy = plugin("needy", requires=("acme_crm",), on_contact_added=lambda contact: None)
    pm = get_plugin_manager(plugins=[needy])
    assert "acme_crm" in pm.load_errors
    assert info_of(pm, "needy").reason == "requires acme_crm, which failed to load"


def test_siyu_plugins_shows_why_a_plugin_is_disabled(capsys, monkeypatch):
    needy = plugin("needy", requires=("acme_crm",), on_contact_added=lambda contact: None)
    code, out, _ = run(capsys, monkeypatch, "plugins", plugins=[needy])
    assert code == 0
    line = out.splitlines()[line_of(out, "needy")]
    assert line.endswith("(disabled: requires acme_crm, which is not installed)")


def test_siyu_plugins_lists_what_a_loaded_plugin_requires(capsys, monkeypatch):
    needy = plugin("needy", requires=("default_segments",),
                   on_contact_added=lambda contact: None)
    _, out, _ = run(capsys, monkeypatch, "plugins", plugins=[needy])
    lines = out.splitlines()
    first = line_of(out, "needy")
    assert lines[first + 1].strip() == "hooks: on_contact_added"
    assert lines[first + 2].strip() == "requires: default_segments"


def test_requirements_are_transitive_and_the_reason_names_the_chain():
    base = plugin("base", requires=("acme_crm",), on_contact_added=lambda contact: None)
    middle = plugin("middle", requires=("base",), on_contact_added=lambda contact: None)
    top = plugin("top", requires=("middle",), on_contact_added=lambda contact: None)
    # Registered top first: the order plugins arrive in does not change the outcome.
    pm = get_plugin_manager(plugins=[top, middle, base], load_entry_points=False)
    assert [pm.get_plugin(n) for n in ("base", "middle", "top")] == [None, None, None]
    assert info_of(pm, "top").reason == ("requires middle, which requires base, which "
                                         "requires acme_crm, which is not installed")


def test_plugins_requiring_each_other_are_an_error_naming_both():
    one = plugin("one", requires=("two",))
    two = plugin("two", requires=("one",))
    with pytest.raises(PluginError, match="cycle") as err:
        get_plugin_manager(plugins=[one, two], load_entry_points=False)
    assert "'one' requires 'two', which requires 'one'" in str(err.value)


def test_a_longer_cycle_names_every_plugin_in_it():
    plugins = [plugin("a", requires=("b",)), plugin("b", requires=("c",)),
               plugin("c", requires=("a",)), plugin("d", requires=("a",))]
    with pytest.raises(PluginError) as err:
        get_plugin_manager(plugins=plugins, load_entry_points=False)
    message = str(err.value)
    assert "plugins 'a', 'b' and 'c' require each other in a cycle" in message
    assert "'d'" not in message


def test_plugin_requiring_itself_is_an_error():
    with pytest.raises(PluginError, match="'narcissus' requires itself"):
        get_plugin_manager(plugins=[plugin("narcissus", requires=("narcissus",))],
                           load_entry_points=False)


@pytest.mark.parametrize("declared", ["wecom", ("wecom", 3), ("",)])
def test_malformed_requirements_are_an_error_showing_the_fix(declared):
    with pytest.raises(PluginError, match=r"siyu_requires = \('wecom',\)") as err:
        get_plugin_manager(plugins=[plugin("sloppy", requires=declared)],
                           load_entry_points=False)
    assert "'sloppy'" in str(err.value)


def test_class_plugins_declare_requirements_as_a_class_attribute():
    class Needy:
        siyu_requires = ("acme_crm",)

        @hookimpl
        def on_contact_added(self, contact):
            pass

    pm = get_plugin_manager(plugins=[Needy()], load_entry_points=False)
    assert info_of(pm, "Needy").reason == "requires acme_crm, which is not installed"


# -- the built-ins: livecodes requires wecom --------------------------------------------------


def test_livecodes_declares_that_it_requires_wecom():
    pm = get_plugin_manager(load_entry_points=False)
    assert info_of(pm, "livecodes").requires == ("wecom",)
    assert info_of(pm, "livecodes").status == "loaded"


def test_disabling_wecom_disables_livecodes_with_the_reason(monkeypatch):
    monkeypatch.setenv("SIYU_DISABLE_PLUGINS", "wecom")
    pm = get_plugin_manager(load_entry_points=False)
    info = info_of(pm, "livecodes")
    assert pm.get_plugin("livecodes") is None
    assert info.blocked
    assert info.reason == "requires wecom, which is disabled"


def test_siyu_plugins_shows_livecodes_disabled_because_wecom_is(capsys, monkeypatch):
    code, out, _ = run(capsys, monkeypatch, "plugins", disable=["wecom"])
    assert code == 0
    lines = out.splitlines()
    assert lines[line_of(out, "wecom")].endswith("(disabled)")
    assert lines[line_of(out, "livecodes")].endswith(
        "(disabled: requires wecom, which is disabled)")


def test_with_wecom_disabled_the_console_has_no_live_code_pages(db_url):
    with siyu.open(db_url, load_entry_points=False) as ws:
        assert LIVE_CODE_PAGES <= set(ws.pages())
    with siyu.open(db_url, load_entry_points=False, disable=["wecom"]) as ws:
        pages = set(ws.pages())
    assert not pages & LIVE_CODE_PAGES
    assert "contacts" in pages


def test_plugins_page_shows_why_livecodes_is_disabled(db_url):
    from siyu.apps.pages.plugins import plugins_frame

    with siyu.open(db_url, load_entry_points=False, disable=["wecom"]) as ws:
        frame = plugins_frame(ws).set_index("name")
    assert frame.loc["livecodes", "status"] == "disabled: requires wecom, which is disabled"
    assert frame.loc["wecom", "status"] == "disabled"


def test_siyu_livecode_list_with_wecom_disabled_says_why(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("SIYU_DISABLE_PLUGINS", "wecom")
    code = main(["--db", str(tmp_path / "shop.db"), "livecode", "list"])
    _, err = capsys.readouterr()
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("siyu: error: unknown command 'livecode'")
    assert "livecodes (disabled: requires wecom, which is disabled)" in lines[0]
    assert "no such table" not in err


def test_an_unknown_command_with_every_plugin_loaded_is_argparses_usage_error(capsys,
                                                                            monkeypatch):
    code, _, err = run(capsys, monkeypatch, "livecod", "list")
    assert code == 2
    assert "invalid choice: 'livecod'" in err
    assert "not loaded" not in err


# -- state prefixes -------------------------------------------------------------------------


def test_livecodes_claims_lc_and_gl(ws):
    claims = {prefix: claim.plugin for prefix, claim in ws.state_prefixes.items()}
    assert claims == {"lc:": "livecodes", "gl:": "livecodes"}


def test_state_owner_routes_a_state_to_the_plugin_that_claimed_it(db_url):
    expo = claiming("expo", StatePrefix("ex:", description="trade-show booths"))
    with siyu.open(db_url, plugins=[expo], load_entry_points=False) as ws:
        assert ws.state_owner("lc:42") == "livecodes"
        assert ws.state_owner("gl:7") == "livecodes"
        assert ws.state_owner("ex:2026-expo-b3") == "expo"
        assert ws.state_prefixes["ex:"].description == "trade-show booths"


@pytest.mark.parametrize("state", [None, "", "staff", "import", "zz:1", "lc"])
def test_state_nobody_claims_has_no_owner(ws, state):
    assert ws.state_owner(state) is None


def test_contact_with_a_state_nobody_claims_is_still_stored(db_url):
    seen = []
    recorder = plugin("recorder", on_contact_added=lambda contact, via: seen.append(via))
    with siyu.open(db_url, plugins=[recorder], load_entry_points=False) as ws:
        contact, created = ws.contacts.upsert("wm_1", name="王芳", via="zz:1")
        assert created
        assert ws.contacts.get("wm_1").id == contact.id
        assert ws.state_owner("zz:1") is None
    assert seen == ["zz:1"]


def test_with_wecom_disabled_nobody_owns_live_code_states(db_url):
    with siyu.open(db_url, load_entry_points=False, disable=["wecom"]) as ws:
        assert ws.state_owner("lc:42") is None


def test_two_plugins_claiming_one_prefix_is_an_error_naming_both():
    pm = get_plugin_manager(plugins=[claiming("fission", "fs:"), claiming("referral", "fs:")],
                            load_entry_points=False)
    with pytest.raises(PluginError) as err:
        collect_state_prefixes(pm)
    message = str(err.value)
    assert message.startswith("state prefix 'fs:' is registered by both plugin ")
    assert "'fission'" in message and "'referral'" in message
    assert message.endswith("; rename one")


def test_claiming_a_built_in_prefix_is_an_error_naming_both(db_url):
    copycat = claiming("copycat", "lc:")
    with siyu.open(db_url, plugins=[copycat], load_entry_points=False) as ws:
        with pytest.raises(PluginError) as err:
            ws.state_owner("lc:42")
    assert "'livecodes'" in str(err.value)
    assert "'copycat'" in str(err.value)


@pytest.mark.parametrize("shorter, longer", [("lc:", "lc:x:"), ("a:", "a:b:")])
def test_a_prefix_that_starts_another_is_an_error_naming_both(shorter, longer):
    pm = get_plugin_manager(plugins=[claiming("first", longer), claiming("second", shorter)],
                            load_entry_points=False)
    with pytest.raises(PluginError, match="overlaps") as err:
        collect_state_prefixes(pm)
    message = str(err.value)
    assert repr(shorter) in message and repr(longer) in message
    assert "'first'" in message and "'second'" in message


@pytest.mark.parametrize("bad", ["l", "lc", "LC:", "booth:", ":", "l c:", "", "活码:"])
def test_a_malformed_prefix_is_an_error_naming_it_and_the_rule(bad):
    pm = get_plugin_manager(plugins=[claiming("sloppy", bad)], load_entry_points=False)
    with pytest.raises(PluginError) as err:
        collect_state_prefixes(pm)
    message = str(err.value)
    assert f"prefix {bad!r}" in message
    assert "'sloppy'" in message
    assert "2 to 5" in message and "ending with ':'" in message


def test_a_prefix_of_five_characters_is_accepted():
    pm = get_plugin_manager(plugins=[claiming("expo", "expo:")], load_entry_points=False)
    assert collect_state_prefixes(pm)["expo:"].plugin == "expo"


def test_a_prefix_claimed_for_another_plugin_is_an_error():
    liar = claiming("liar", StatePrefix("ex:", plugin="livecodes"))
    pm = get_plugin_manager(plugins=[liar], load_entry_points=False)
    with pytest.raises(PluginError, match="claims prefixes for itself only"):
        collect_state_prefixes(pm)


def test_returning_a_bare_string_is_an_error_showing_the_record():
    pm = get_plugin_manager(plugins=[plugin("sloppy", register_state_prefixes=lambda: ["ex:"])],
                            load_entry_points=False)
    with pytest.raises(PluginError, match="return StatePrefix records"):
        collect_state_prefixes(pm)


def test_state_prefix_record_claims_only_states_that_start_with_it():
    expo = StatePrefix("ex:")
    assert expo.claims("ex:2026-b3")
    assert not expo.claims("lc:1")
    assert not expo.claims(None)
    assert not expo.claims("")


def test_siyu_plugins_lists_state_prefixes(capsys, monkeypatch):
    _, out, _ = run(capsys, monkeypatch, "plugins")
    lines = out.splitlines()
    livecodes = line_of(out, "livecodes")
    assert "state prefixes: lc:, gl:" in [line.strip() for line in lines[livecodes:]]


def test_siyu_plugins_lists_plugins_then_reports_a_prefix_clash(capsys, monkeypatch):
    code, out, err = run(capsys, monkeypatch, "plugins", plugins=[claiming("copycat", "lc:")])
    assert code == 2
    assert "livecodes" in out and "copycat" in out
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("siyu: error: state prefix 'lc:' is registered by both plugin")
    assert "'livecodes'" in lines[0] and "'copycat'" in lines[0]
