"""The address book in the WeCom sandbox, over real HTTP: department/list, department/simplelist,
user/list and user/simplelist answer what WeCom documents, within the app's visible range."""

from __future__ import annotations

import httpx
import pytest

from siyu.plugins.wecom.sandbox import Sandbox, SandboxError


class Api:
    """GET calls below ``/cgi-bin/`` with an access token."""

    def __init__(self, sandbox: Sandbox):
        self.http = httpx.Client(base_url=sandbox.base_url, timeout=10)
        self.token = self.http.get("/cgi-bin/gettoken", params={
            "corpid": sandbox.corp_id, "corpsecret": sandbox.secret}).json()["access_token"]

    def get(self, path: str, **params) -> dict:
        return self.http.get(f"/cgi-bin/{path}",
                             params={"access_token": self.token, **params}).json()


@pytest.fixture
def sandbox():
    with Sandbox(seed=7) as sandbox:
        yield sandbox


@pytest.fixture
def api(sandbox):
    api = Api(sandbox)
    yield api
    api.http.close()


def test_department_list_answers_the_chain_tree_brand_regions_stores(api, sandbox):
    answer = api.get("department/list")
    assert answer["errcode"] == 0
    tree = {d["id"]: d for d in answer["department"]}
    assert tree[1]["parentid"] == 0 and tree[1]["name"] == sandbox.world.corp.name
    assert {tree[d]["parentid"] for d in (2, 3)} == {1}
    assert tree[4] == {"id": 4, "name": "上海南京西路店", "name_en": "SH Nanjing Rd W",
                       "department_leader": ["zhangsan"], "parentid": 2, "order": 200}
    assert [d["id"] for d in answer["department"]][:2] == [1, 2]  # parents first, larger order


def test_department_list_with_an_id_answers_that_department_and_everything_below(api):
    ids = [d["id"] for d in api.get("department/list", id=2)["department"]]
    assert ids == [2, 4, 5]
    assert [d["id"] for d in api.get("department/list", id=6)["department"]] == [6]


def test_an_unknown_department_is_60003(api):
    assert api.get("department/list", id=99)["errcode"] == 60003
    assert api.get("user/list", department_id=99)["errcode"] == 60003


def test_departments_outside_the_visible_range_are_refused_or_left_out(api, sandbox):
    sandbox.world.visible_departments = {2}
    ids = [d["id"] for d in api.get("department/list")["department"]]
    assert ids == [2, 4, 5]
    assert api.get("department/list", id=3)["errcode"] == 60011
    assert api.get("user/list", department_id=6)["errcode"] == 60011
    assert api.get("department/simplelist")["department_id"][0] == {
        "id": 2, "parentid": 1, "order": 200}


def test_department_simplelist_has_ids_parents_and_orders_only(api):
    rows = api.get("department/simplelist", id=3)["department_id"]
    assert rows == [{"id": 3, "parentid": 1, "order": 100},
                    {"id": 6, "parentid": 3, "order": 100}]


def test_user_list_answers_the_members_directly_in_the_department(api):
    answer = api.get("user/list", department_id=4)
    assert answer["errcode"] == 0 and "next_cursor" not in answer  # not paged
    by_id = {u["userid"]: u for u in answer["userlist"]}
    assert sorted(by_id) == ["lisi", "zhangsan", "zhaoliu"]  # zhouba has left the corp
    zhangsan = by_id["zhangsan"]
    assert zhangsan["name"] == "张三" and zhangsan["department"] == [4]
    assert zhangsan["main_department"] == 4 and zhangsan["is_leader_in_dept"] == [1]
    assert zhangsan["status"] == 1 and by_id["zhaoliu"]["status"] == 4  # not activated
    for withheld in ("avatar", "gender", "mobile", "email", "biz_mail", "qr_code", "address"):
        assert withheld not in zhangsan
    assert api.get("user/list", department_id=2)["userlist"] == []


def test_user_list_fetch_child_is_still_accepted(api):
    members = api.get("user/list", department_id=2, fetch_child=1)["userlist"]
    assert sorted(u["userid"] for u in members) == ["lisi", "wangwu", "zhangsan", "zhaoliu"]


def test_user_list_needs_a_department(api):
    assert api.get("user/list")["errcode"] == 40058


def test_user_simplelist_has_userid_name_and_departments(api):
    rows = api.get("user/simplelist", department_id=6)["userlist"]
    assert rows == [{"userid": "sunqi", "name": "孙七", "department": [6]}]


def test_a_moved_member_is_listed_in_the_new_department(api, sandbox):
    sandbox.world.move_staff("lisi", 5)
    assert "lisi" in [u["userid"] for u in api.get("user/list", department_id=5)["userlist"]]
    assert "lisi" not in [u["userid"]
                          for u in api.get("user/list", department_id=4)["userlist"]]


def test_departments_nest_below_a_known_parent_only(sandbox):
    world = sandbox.world
    dept = world.add_department("南京新街口店", 2, order=50)
    assert world.subtree(2)[-1] == dept.id and world.department("南京新街口店") == dept.id
    with pytest.raises(SandboxError):
        world.add_department("无处安放", 404)
