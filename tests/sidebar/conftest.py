"""A console wired to a WeCom sandbox, for the chat sidebar's tests: the sandbox's world is
synced (zhangsan has three customers), zhangsan, lisi and wangwu are staff in siyu, and the
console runs in this process."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

import siyu

SECRET = "a-sidebar-test-secret-of-at-least-32-characters"


@dataclass
class SidebarWorld:
    ws: Any
    sandbox: Any
    url: str

    def customers_of(self, userid: str) -> list[str]:
        """External userids of the customers ``userid`` follows in siyu."""
        from siyu.storage.models import Contact, ContactFollow, Staff

        f, s, c = ContactFollow.__table__.c, Staff.__table__.c, Contact.__table__.c
        with self.ws.engine.connect() as conn:
            return list(conn.execute(
                sa.select(c.external_userid).select_from(
                    ContactFollow.__table__.join(Staff.__table__, s.id == f.staff_id)
                    .join(Contact.__table__, c.id == f.contact_id))
                .where(s.userid == userid, f.deleted_at.is_(None))
                .order_by(c.id)).scalars())

    def open_chat(self, userid: str, external_userid: str) -> httpx.Client:
        """A browser-like client that opened the sidebar beside this chat and followed
        WeCom's OAuth back to ``/sidebar`` (now signed in)."""
        client = httpx.Client(follow_redirects=True, timeout=30)
        link = self.sandbox.client.open_chat(userid, external_userid,
                                             url=f"{self.url}/sidebar")
        response = client.get(link)
        assert response.status_code == 200, response.text
        assert str(response.url).split("#")[0] == f"{self.url}/sidebar"
        return client


def csrf_of(html_text: str) -> str:
    """The page's form token (``data-csrf``)."""
    return re.search(r'data-csrf="([0-9a-f]+)"', html_text).group(1)


@pytest.fixture
def sidebar_world(tmp_path) -> Iterator[SidebarWorld]:
    from siyu.apps.server import serve_in_background
    from siyu.plugins.wecom.config import save_config
    from siyu.plugins.wecom.sandbox.server import DEFAULT_AGENT_ID, Sandbox
    from siyu.plugins.wecom.sync import sync

    with Sandbox(seed=7) as sandbox:
        ws = siyu.open(f"sqlite:///{tmp_path / 'sidebar.db'}", load_entry_points=False)
        save_config(ws, corp_id=sandbox.corp_id, secret=sandbox.secret, token=sandbox.token,
                    encoding_aes_key=sandbox.encoding_aes_key, base_url=sandbox.base_url,
                    agent_id=str(DEFAULT_AGENT_ID))
        ws.set_language("zh_CN")
        sync(ws)
        for userid, name in (("zhangsan", "张三"), ("lisi", "李四"), ("wangwu", "王五")):
            ws.staff.upsert(userid, name)
        with serve_in_background(ws, secret=SECRET) as server:
            yield SidebarWorld(ws, sandbox, server.url.rstrip("/"))
        ws.close()
