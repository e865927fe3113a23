"""The demo's WeCom: the built-in sandbox wired to a console, on both engines."""

import httpx
import pytest

import siyu
from siyu.apps.server import serve_in_background
from siyu.plugins.livecodes import api
from siyu.plugins.wecom.demo import wire_sandbox
from siyu.plugins.wecom.sandbox.testing import wait_until


@pytest.fixture
def ws(db_url):
    workspace = siyu.open(db_url, load_entry_points=False)
    yield workspace
    workspace.close()


def test_the_demo_sandbox_syncs_past_staff_wecom_does_not_know(ws):
    ws.staff.upsert("erp_guide", "ERP 导购")  # imported from an ERP, not in WeCom
    demo = wire_sandbox(ws, seed=3)
    try:
        assert demo.report.customers > 0 and demo.report.staff > 0
        assert demo.code is not None and demo.code["tags"] == ["渠道/演示海报"]
        assert ws.staff.get("erp_guide").name == "ERP 导购"
    finally:
        demo.stop()


def test_a_scan_in_the_demo_sandbox_reaches_the_console(ws):
    demo = wire_sandbox(ws, seed=4)
    try:
        with serve_in_background(ws, secret="demo-test") as console:
            lines = demo.connect(int(console.url.rsplit(":", 1)[1]))
            link = lines[-1].rsplit(" ", 1)[-1]
            assert link.startswith(demo.sandbox.base_url + "/sandbox/scan?config_id=")
            scanned = httpx.get(link, timeout=10).json()
            wait_until(lambda: (api.adds_df(ws)["welcome"] == "sent").any())
            contact = ws.contacts.get(scanned["external_userid"])
            wait_until(lambda: ws.tags.of(contact.id))  # tags follow the welcome
            added = api.adds_df(ws)
            contact = ws.contacts.get(contact.id)
            assert added["userid"].tolist() == [scanned["userid"]]
            assert ws.tags.of(contact.id) == ["渠道/演示海报"]
            assert contact.source_channel == "演示海报"
    finally:
        demo.stop()
