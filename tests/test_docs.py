"""The integrator's guide (docs/plugins.md) keeps up with the hook specifications."""

from __future__ import annotations

import inspect
import re
import types
from pathlib import Path

import pytest
from sqlmodel import SQLModel

from siyu.core import hookspecs
from siyu.core.plugins import get_plugin_manager
from siyu.storage import models as _core_models  # noqa: F401  (core tables stay registered)

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "plugins.md"


def _hook_specs() -> dict[str, inspect.Signature]:
    """Every function the ``siyu`` hookspec marker marked, with its signature."""
    return {name: inspect.signature(func)
            for name, func in inspect.getmembers(hookspecs, inspect.isfunction)
            if hasattr(func, "siyu_spec")}


def _hook_sections() -> dict[str, str]:
    """``### name`` sections of the guide: the text up to the next heading of level 1-3."""
    text = GUIDE.read_text(encoding="utf-8")
    pattern = re.compile(r"^### +(\S+)[ \t]*\n(.*?)(?=^#{1,3} |\Z)", re.MULTILINE | re.DOTALL)
    return {match.group(1): match.group(2) for match in pattern.finditer(text)}


def _first_python_block(section: str) -> str | None:
    match = re.search(r"^```python\n(.*?)^```", section, re.MULTILINE | re.DOTALL)
    return match.group(1) if match else None


SPECS = _hook_specs()
SECTIONS = _hook_sections()


def test_hookspecs_are_found():
    assert {"on_contact_added", "register_channels", "segment", "send"} <= set(SPECS)


@pytest.mark.parametrize("hook", sorted(SPECS))
def test_every_hook_has_a_section(hook):
    assert hook in SECTIONS, f"docs/plugins.md has no '### {hook}' section"


@pytest.mark.parametrize("hook", sorted(SPECS))
def test_every_hook_argument_is_documented_in_its_section(hook):
    section = SECTIONS.get(hook, "")
    missing = [arg for arg in SPECS[hook].parameters if f"`{arg}`" not in section]
    assert not missing, (f"docs/plugins.md section '### {hook}' does not mention argument(s) "
                         f"{', '.join(f'`{arg}`' for arg in missing)}")


@pytest.mark.parametrize("hook", sorted(SPECS))
def test_every_hook_section_states_whether_it_is_firstresult(hook):
    firstresult = getattr(hookspecs, hook).siyu_spec.get("firstresult", False)
    stated = re.search(r"\*\*firstresult:\*\* (yes|no)\b", SECTIONS.get(hook, ""))
    assert stated, f"section '### {hook}' has no '**firstresult:** yes/no' line"
    assert stated.group(1) == ("yes" if firstresult else "no")


@pytest.mark.parametrize("hook", sorted(SPECS))
def test_every_hook_example_registers_and_implements_the_hook(hook):
    code = _first_python_block(SECTIONS.get(hook, ""))
    assert code, f"section '### {hook}' has no python example"
    plugin = types.ModuleType(f"docs_example_{hook}")
    tables_before = set(SQLModel.metadata.tables)
    try:
        exec(compile(code, f"docs/plugins.md ### {hook}", "exec"), plugin.__dict__)
        pm = get_plugin_manager(plugins=[plugin], load_entry_points=False, disable=[])
    finally:  # an example's tables must not leak into the core metadata
        for name in set(SQLModel.metadata.tables) - tables_before:
            SQLModel.metadata.remove(SQLModel.metadata.tables[name])
    implemented = {impl.plugin_name for impl in getattr(pm.hook, hook).get_hookimpls()}
    assert plugin.__name__ in implemented


def test_hook_reference_documents_no_hook_that_does_not_exist():
    # Only the sections under "## Hook reference" are hooks; the others are guide chapters.
    reference = GUIDE.read_text(encoding="utf-8").split("## Hook reference", 1)[-1]
    headings = set(re.findall(r"^### +(\S+)", reference, re.MULTILINE))
    assert headings - set(SPECS) == set()


def _public_callables(module: types.ModuleType):
    for name, obj in vars(module).items():
        if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
            continue
        if inspect.isfunction(obj):
            yield name, obj
        elif inspect.isclass(obj):
            yield name, obj
            for attr, member in vars(obj).items():
                if not attr.startswith("_") and inspect.isfunction(member):
                    yield f"{name}.{attr}", member


def test_every_public_function_of_hookspecs_has_a_docstring():
    undocumented = [name for name, obj in _public_callables(hookspecs)
                    if not (inspect.getdoc(obj) or "").strip()]
    assert not undocumented, f"no docstring: {', '.join(undocumented)}"


def _guide_chapter(title: str) -> str:
    """The text of the ``## title`` chapter of the guide, up to the next ``## `` heading."""
    text = GUIDE.read_text(encoding="utf-8")
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"docs/plugins.md has no '## {title}' chapter"
    return match.group(1)


def test_the_translating_a_plugin_example_runs(tmp_path, monkeypatch):
    """The chapter's first example is the plugin's module, its last one the walk-through of
    ``siyu i18n update`` / ``check`` that translates it; both run as written."""
    import sys

    blocks = re.findall(r"^```python\n(.*?)^```", _guide_chapter("Translating a plugin"),
                        re.M | re.S)
    assert len(blocks) >= 2
    package = tmp_path / "coupons"
    package.mkdir()
    (package / "__init__.py").write_text(blocks[0], encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    try:
        exec(compile(blocks[-1], "docs/plugins.md ## Translating a plugin", "exec"), {})
    finally:
        sys.modules.pop("coupons", None)
    assert (package / "locale" / "zh_CN" / "LC_MESSAGES" / "messages.po").is_file()


def test_the_segment_rules_example_runs(tmp_path, monkeypatch):
    """The chapter's first example is a plugin module, its last one uses it from a notebook;
    both run as written (the last one asserts the counts and the error paths)."""
    blocks = re.findall(r"^```python\n(.*?)^```", _guide_chapter("Segment rules"), re.M | re.S)
    assert len(blocks) >= 2
    plugin = types.ModuleType("loyalty")
    tables_before = set(SQLModel.metadata.tables)
    try:
        exec(compile(blocks[0], "docs/plugins.md ## Segment rules (plugin)", "exec"),
             plugin.__dict__)
        exec(compile(blocks[-1], "docs/plugins.md ## Segment rules (use)", "exec"),
             {"loyalty": plugin})
    finally:
        for name in set(SQLModel.metadata.tables) - tables_before:
            SQLModel.metadata.remove(SQLModel.metadata.tables[name])


def _run_plugin_and_use(chapter: str, module: str) -> None:
    """Run a chapter's first example as the plugin module ``module`` and its last one, which
    uses it under that name (the last one asserts what it shows)."""
    blocks = re.findall(r"^```python\n(.*?)^```", _guide_chapter(chapter), re.M | re.S)
    assert len(blocks) >= 2
    plugin = types.ModuleType(module)
    exec(compile(blocks[0], f"docs/plugins.md ## {chapter} (plugin)", "exec"), plugin.__dict__)
    exec(compile(blocks[-1], f"docs/plugins.md ## {chapter} (use)", "exec"), {module: plugin})


def test_the_channels_and_outbox_example_runs():
    """A channel plugin; drafting, previewing, launching and sending a campaign through it."""
    _run_plugin_and_use("Channels and the outbox", "sms")


def test_the_skip_delay_and_hold_example_runs():
    """A plugin with launch rules and holds; a campaign previewed, launched and sent with it
    at night and in the morning."""
    _run_plugin_and_use("Rules that skip, delay or hold messages", "quiet")


def test_the_connectors_example_runs():
    """A connector kind reading JSON-lines files; a connector of it configured, synced twice
    (a bad amount skipped and named, the second run resuming at the end) and a bad setting
    refused."""
    _run_plugin_and_use("Connectors", "jsonl")


def test_the_reward_claimed_example_runs(tmp_path):
    """The on_reward_claimed example, loaded next to the rewards plugin: a claim tags its
    contact, once."""
    import siyu
    from siyu.plugins.rewards import claims, pools

    code = _first_python_block(SECTIONS["on_reward_claimed"])
    example = types.ModuleType("docs_example_reward_claimed")
    exec(compile(code, "docs/plugins.md ### on_reward_claimed", "exec"), example.__dict__)
    ws = siyu.open(f"sqlite:///{tmp_path / 'docs.db'}", load_entry_points=False, plugins=[example])
    try:
        contact, _created = ws.contacts.upsert("wm0001", name="客户")
        pools.create(ws, "welcome", kind="red_packet", amount_fen=888, budget_fen=8880)
        claims.claim(ws, "welcome", contact.id)
        assert ws.tags.of(contact.id) == ["权益/已领取"]
    finally:
        ws.close()
