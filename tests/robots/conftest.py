"""Fixtures of the robots tests: the plugin loaded as a built-in (whether or not
``DEFAULT_PLUGINS`` lists it yet), workspaces on both engines, and fake providers."""

from __future__ import annotations

import pytest

import siyu
from siyu.core import plugins

from .servers import FakeRobots, Receiver

MODULE = "siyu.plugins.robots.plugin"
SECRET = "whsec-0123456789abcdef"


@pytest.fixture(autouse=True)
def robots_loaded(monkeypatch):
    """The robots plugin among the built-ins, as ``siyu`` loads it."""
    if MODULE not in plugins.DEFAULT_PLUGINS:
        monkeypatch.setattr(plugins, "DEFAULT_PLUGINS", (*plugins.DEFAULT_PLUGINS, MODULE))


@pytest.fixture
def ws(db_url, robots_loaded):
    """An open, migrated workspace on each engine, with the built-ins and robots."""
    workspace = siyu.open(db_url, load_entry_points=False)
    yield workspace
    workspace.close()


@pytest.fixture
def fake():
    """Fake group robots of WeCom, Feishu and DingTalk on 127.0.0.1."""
    server = FakeRobots()
    yield server
    server.close()


@pytest.fixture
def receiver():
    """A webhook receiver on 127.0.0.1 that checks signatures with :data:`SECRET`."""
    server = Receiver(SECRET)
    yield server
    server.close()


@pytest.fixture
def lite(tmp_path, robots_loaded):
    """A workspace on a SQLite file only, for checks that never reach the engine's
    differences (refused input)."""
    workspace = siyu.open("sqlite:///" + str(tmp_path / "x.db"), load_entry_points=False)
    yield workspace
    workspace.close()
