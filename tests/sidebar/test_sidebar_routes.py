"""The chat sidebar over real HTTP: WeCom OAuth through the sandbox, the signed session, the
JS-SDK signatures the sandbox accepts, the card of one's own customer only, tags, notes and
quick replies — and the ways in that must stay shut."""

from __future__ import annotations

import base64
import json

import httpx
import pytest
import sqlalchemy as sa

from siyu.plugins.sidebar import sessions
from siyu.plugins.sidebar.jsapi import sign

from .conftest import csrf_of

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQ"
                       "GAhKmMIQAAAABJRU5ErkJggg==")


def customer_page(world, client, external_userid: str) -> httpx.Response:
    return client.get(f"{world.url}/sidebar/customer",
                      params={"external_userid": external_userid})


def test_opening_the_sidebar_signs_the_guide_in_through_wecom_oauth(sidebar_world):
    world = sidebar_world
    customer = world.customers_of("zhangsan")[0]
    client = world.open_chat("zhangsan", customer)
    shell = client.get(f"{world.url}/sidebar")
    assert 'data-view="shell"' in shell.text
    assert f"{world.sandbox.base_url}/jssdk/jweixin.js" in shell.text
    assert shell.headers["Cache-Control"] == "no-store"
    cookie = next(c for c in client.cookies.jar if c.name == "siyu_sidebar")
    assert cookie.has_nonstandard_attr("HttpOnly")
    listed = sessions.listing(world.ws)
    assert list(listed["userid"]) == ["zhangsan"]
    with world.ws.engine.connect() as conn:  # only a hash of the token is kept
        stored = conn.execute(sa.text("SELECT token_hash FROM sidebar_session")).scalar_one()
    assert stored not in cookie.value


def test_the_signatures_are_the_ones_wecom_accepts(sidebar_world):
    world = sidebar_world
    client = world.open_chat("zhangsan", world.customers_of("zhangsan")[0])
    page_url = f"{world.url}/sidebar"
    csrf = csrf_of(client.get(page_url).text)
    signed = client.post(f"{world.url}/sidebar/signature", json={"url": page_url + "#x"},
                         headers={"X-Siyu-Csrf": csrf}).json()
    assert signed["jsApiList"] == ["getContext", "getCurExternalContact", "sendChatMessage"]
    config, agent = signed["config"], signed["agent"]
    assert config["appId"] == world.sandbox.corp_id
    verdicts = []
    for kind, args in (("config", {"appId": config["appId"], **config}),
                       ("agent_config", agent)):
        answer = httpx.post(f"{world.sandbox.base_url}/client/verify",
                            json={"kind": kind, "url": page_url, **args}).json()
        verdicts.append(answer)
    assert all(v.get("ok") for v in verdicts), verdicts
    # Signed with WeCom's formula: sha1 of the four fields, the URL without its fragment.
    ticket = world.ws.extension("sidebar.tickets", None).get("corp")
    assert config["signature"] == sign(ticket, config["nonceStr"], config["timestamp"],
                                       page_url)


def test_only_pages_of_this_sidebar_are_signed_and_only_with_the_token(sidebar_world):
    world = sidebar_world
    client = world.open_chat("zhangsan", world.customers_of("zhangsan")[0])
    csrf = csrf_of(client.get(f"{world.url}/sidebar").text)
    elsewhere = client.post(f"{world.url}/sidebar/signature",
                            json={"url": "https://evil.example/sidebar"},
                            headers={"X-Siyu-Csrf": csrf})
    assert elsewhere.status_code == 400
    no_token = client.post(f"{world.url}/sidebar/signature",
                           json={"url": f"{world.url}/sidebar"})
    assert no_token.status_code == 403
    stranger = httpx.post(f"{world.url}/sidebar/signature", json={"url": f"{world.url}/sidebar"},
                          headers={"X-Siyu-Csrf": csrf})
    assert stranger.status_code == 403


def test_the_card_shows_the_guides_own_customer_with_the_phone_masked(sidebar_world):
    world = sidebar_world
    customer = world.customers_of("zhangsan")[0]
    world.ws.contacts.upsert(customer, phone="13812345678")
    client = world.open_chat("zhangsan", customer)
    page = customer_page(world, client, customer)
    assert page.status_code == 200
    assert 'data-view="customer"' in page.text
    assert "138****5678" in page.text and "13812345678" not in page.text
    others = [c for c in world.customers_of("lisi") if c not in world.customers_of("zhangsan")]
    if others:
        refused = customer_page(world, client, others[0])
        assert refused.status_code == 403
        assert "不是你的客户" in refused.text
    unknown = customer_page(world, client, "wmNoSuchCustomer")
    assert unknown.status_code == 404


def test_a_guide_tags_a_customer_and_writes_a_note(sidebar_world):
    world = sidebar_world
    customer = world.customers_of("zhangsan")[0]
    world.ws.tags.create("意向/高")
    client = world.open_chat("zhangsan", customer)
    page = customer_page(world, client, customer)
    csrf, contact_id = csrf_of(page.text), world.ws.contacts.get(customer).id
    tagged = client.post(f"{world.url}/sidebar/customer/tags",
                         data={"contact": contact_id, "csrf": csrf, "tag": "意向/高",
                               "action": "add"})
    assert tagged.status_code == 200 and "已添加标签" in tagged.text
    assert "意向/高" in world.ws.tags.of(contact_id)
    noted = client.post(f"{world.url}/sidebar/customer/note",
                        data={"contact": contact_id, "csrf": csrf, "text": "<b>周末</b>联系"})
    assert "备注已保存" in noted.text
    assert "&lt;b&gt;周末&lt;/b&gt;联系" in noted.text and "<b>周末</b>" not in noted.text
    from siyu.plugins.customers import notes

    [note] = notes.listing(world.ws, contact_id)
    assert note["text"] == "<b>周末</b>联系" and note["userid"] == "zhangsan"
    assert note["by"] == "wecom:zhangsan"
    removed = client.post(f"{world.url}/sidebar/customer/tags",
                          data={"contact": contact_id, "csrf": csrf, "tag": "意向/高",
                                "action": "remove"})
    assert "已移除标签" in removed.text
    assert "意向/高" not in world.ws.tags.of(contact_id)


def test_forms_without_the_token_or_for_another_guides_customer_change_nothing(sidebar_world):
    world = sidebar_world
    mine = world.customers_of("zhangsan")[0]
    world.ws.tags.create("意向/高")
    client = world.open_chat("zhangsan", mine)
    csrf = csrf_of(customer_page(world, client, mine).text)
    contact_id = world.ws.contacts.get(mine).id
    before = world.ws.tags.of(contact_id)
    forged = client.post(f"{world.url}/sidebar/customer/tags",
                         data={"contact": contact_id, "csrf": "0" * 40, "tag": "意向/高",
                               "action": "add"})
    assert forged.status_code == 403
    others = [c for c in world.customers_of("lisi") if c not in world.customers_of("zhangsan")]
    if others:
        other_id = world.ws.contacts.get(others[0]).id
        theirs = client.post(f"{world.url}/sidebar/customer/note",
                             data={"contact": other_id, "csrf": csrf, "text": "x"})
        assert theirs.status_code == 403
    empty = client.post(f"{world.url}/sidebar/customer/note",
                        data={"contact": contact_id, "csrf": csrf, "text": "   "})
    assert "备注不能为空" in empty.text
    too_long = client.post(f"{world.url}/sidebar/customer/note",
                           data={"contact": contact_id, "csrf": csrf, "text": "长" * 501})
    assert "最多 500 个字符" in too_long.text
    unknown_tag = client.post(f"{world.url}/sidebar/customer/tags",
                              data={"contact": contact_id, "csrf": csrf, "tag": "无/此标签",
                                    "action": "add"})
    assert "该标签已不存在" in unknown_tag.text
    assert world.ws.tags.of(contact_id) == before
    from siyu.plugins.customers import notes

    assert notes.listing(world.ws, contact_id) == []


def test_a_forged_or_ended_session_goes_back_to_wecom_oauth(sidebar_world):
    world = sidebar_world
    customer = world.customers_of("zhangsan")[0]
    client = world.open_chat("zhangsan", customer)
    forged = httpx.Client(cookies={"siyu_sidebar": "zhangsan|forged"})
    answer = forged.get(f"{world.url}/sidebar")
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith(
        f"{world.sandbox.base_url}/connect/oauth2/authorize?")
    assert sessions.end(world.ws, "zhangsan") == 1
    again = client.get(f"{world.url}/sidebar/customer", params={"external_userid": customer},
                       follow_redirects=False)
    assert again.status_code == 302 and again.headers["Location"] == "/sidebar"


def test_a_member_who_is_not_staff_in_siyu_is_told_so(sidebar_world):
    world = sidebar_world
    customer = world.customers_of("zhangsan")[0]
    world.ws.staff.set_status("zhangsan", "resigned")
    client = httpx.Client(follow_redirects=True)
    page = client.get(world.sandbox.client.open_chat("zhangsan", customer,
                                                     url=f"{world.url}/sidebar"))
    assert page.status_code == 403
    assert "你尚未在系统中登记" in page.text
    assert sessions.listing(world.ws).empty


def test_an_oauth_return_without_its_state_is_refused(sidebar_world):
    world = sidebar_world
    code = world.sandbox.client.issue_code("zhangsan")
    answer = httpx.get(f"{world.url}/sidebar/oauth", params={"code": code, "state": "abc"})
    assert answer.status_code == 400
    assert sessions.listing(world.ws).empty


def test_quick_replies_are_offered_and_an_image_gets_a_media_id_once(sidebar_world):
    from siyu.plugins import quickreplies

    world = sidebar_world
    text = quickreplies.add(world.ws, category="售后", title="退换货",
                            text="七天无理由退换 <script>x</script>")
    image = quickreplies.add(world.ws, category="活动", title="海报", image=PNG,
                             image_name="poster.png")
    customer = world.customers_of("zhangsan")[0]
    client = world.open_chat("zhangsan", customer)
    page = customer_page(world, client, customer)
    assert "退换货" in page.text and "海报" in page.text
    assert "<script>x</script>" not in page.text
    csrf = csrf_of(page.text)
    picture = client.get(f"{world.url}/sidebar/replies/{image.id}/image")
    assert picture.content == PNG and picture.headers["Content-Type"] == "image/png"
    first = client.post(f"{world.url}/sidebar/replies/{image.id}/media",
                        headers={"X-Siyu-Csrf": csrf}).json()["media_id"]
    second = client.post(f"{world.url}/sidebar/replies/{image.id}/media",
                         headers={"X-Siyu-Csrf": csrf}).json()["media_id"]
    assert first == second
    not_image = client.post(f"{world.url}/sidebar/replies/{text.id}/media",
                            headers={"X-Siyu-Csrf": csrf})
    assert not_image.status_code == 404
    used = client.post(f"{world.url}/sidebar/replies/{text.id}/used",
                       headers={"X-Siyu-Csrf": csrf})
    assert used.json() == {"ok": True}
    assert quickreplies.get(world.ws, text.id).use_count == 1
    stranger = httpx.get(f"{world.url}/sidebar/replies/{image.id}/image")
    assert stranger.status_code == 403


def test_without_wecom_settings_the_sidebar_says_it_is_not_set_up(tmp_path):
    import siyu
    from siyu.apps.server import serve_in_background

    ws = siyu.open(f"sqlite:///{tmp_path / 'bare.db'}", load_entry_points=False)
    ws.set_language("zh_CN")
    with serve_in_background(ws, secret="x" * 40) as server:
        answer = httpx.get(f"{server.url.rstrip('/')}/sidebar")
    ws.close()
    assert answer.status_code == 503
    assert "聊天工具栏尚未配置" in answer.text


@pytest.mark.parametrize("arguments", [["url", "ftp://x"], ["end", "nobody"]])
def test_the_command_refuses_bad_input_in_one_line(tmp_path, arguments, capsys):
    from siyu.cli import main

    db = tmp_path / "cli.db"
    code = main(["--db", str(db), "sidebar", *arguments])
    assert code != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("siyu: error:")


def test_the_command_lists_sessions_and_signs_a_guide_out(sidebar_world, capsys):
    from siyu.cli import main

    world = sidebar_world
    world.open_chat("zhangsan", world.customers_of("zhangsan")[0])
    db = world.ws.url.removeprefix("sqlite:///")
    assert main(["--db", db, "sidebar", "sessions", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [r["userid"] for r in listed] == ["zhangsan"]
    assert main(["--db", db, "sidebar", "end", "zhangsan"]) == 0
    assert "zhangsan" in capsys.readouterr().out
    assert sessions.listing(world.ws).empty


def test_a_10_mb_note_and_hostile_strings_are_refused_or_shown_as_text(sidebar_world):
    world = sidebar_world
    customer = world.customers_of("zhangsan")[0]
    world.ws.contacts.upsert(customer, name="<img src=x onerror=alert(1)>' OR 1=1 --")
    client = world.open_chat("zhangsan", customer)
    page = customer_page(world, client, customer)
    assert "<img src=x onerror" not in page.text and "&lt;img src=x onerror" in page.text
    csrf, contact_id = csrf_of(page.text), world.ws.contacts.get(customer).id
    huge = client.post(f"{world.url}/sidebar/customer/note",
                       data={"contact": contact_id, "csrf": csrf, "text": "长" * 10_000_000})
    assert huge.status_code in (200, 400, 413), huge.text[:300]
    from siyu.plugins.customers import notes

    assert notes.listing(world.ws, contact_id) == []
    injected = client.get(f"{world.url}/sidebar/customer",
                          params={"external_userid": "' OR 1=1 --"})
    assert injected.status_code == 404
