"""Node assignment of token-server accounts, shared with the registration
server's nodes (service sync-1.5), on every engine."""
from __future__ import annotations

import pytest
import tokenlib

from syncreg.nodes import SYNC_15
from syncreg.tokenserver.testing import MASTER_SECRET

NODE_A = "https://a.example.test/"
NODE_B = "https://b.example.test/"


@pytest.fixture
def nodes(ts_app):
    return ts_app.app.registry.nodes


def email(fxa_uid: str) -> str:
    return f"{fxa_uid}@api.accounts.firefox.com"


def test_single_box_uses_the_public_url(sync_token, nodes):
    body = sync_token(1, 1, "aaaa").json
    assert body["api_endpoint"] == f"https://sync.example.test/1.5/{body['uid']}"
    assert nodes.list_nodes(SYNC_15) == []


def test_account_goes_to_a_configured_node(sync_token, nodes, fxa_uid):
    nodes.add_node(SYNC_15, NODE_A, 10)
    body = sync_token(1, 1, "aaaa").json
    assert body["api_endpoint"] == f"{NODE_A}1.5/{body['uid']}"
    assert tokenlib.parse_token(body["id"], secret=MASTER_SECRET)["node"] == NODE_A
    assert nodes.get_assignment(SYNC_15, email(fxa_uid)) == NODE_A
    assert nodes.list_nodes(SYNC_15)[0].assigned == 1


def test_least_loaded_node(sync_token, nodes, signing_key):
    nodes.add_node(SYNC_15, NODE_A, 10)
    nodes.add_node(SYNC_15, NODE_B, 10)
    endpoints = [sync_token(1, 1, "aaaa", account=f"{index:032x}").json["api_endpoint"]
                 for index in range(4)]
    assert sorted(endpoint.split("1.5/")[0] for endpoint in endpoints) == [
        NODE_A, NODE_A, NODE_B, NODE_B]


def test_key_change_stays_on_the_node(sync_token, nodes):
    nodes.add_node(SYNC_15, NODE_A, 10)
    nodes.add_node(SYNC_15, NODE_B, 10)
    first = sync_token(1, 1, "aaaa").json
    second = sync_token(2, 2, "bbbb").json
    assert second["uid"] != first["uid"]
    assert first["api_endpoint"].split("1.5/")[0] == second["api_endpoint"].split("1.5/")[0]
    assert sum(node.assigned for node in nodes.list_nodes(SYNC_15)) == 1


def test_no_node_available(sync_token, nodes):
    nodes.add_node(SYNC_15, NODE_A, 0)
    response = sync_token(1, 1, "aaaa", status=503)
    assert response.json == {"status": "internal-error", "errors": [
        {"location": "internal", "name": "", "description": "Server error"}]}
    assert response.headers["Retry-After"].isdigit()
    assert response.headers["X-Timestamp"].isdigit()


def test_moved_account_gets_a_new_uid(sync_token, nodes, fxa_uid, ts_app):
    nodes.add_node(SYNC_15, NODE_A, 10)
    first = sync_token(1, 1, "aaaa").json
    # The operator drains node A: the account is released and A takes nobody new.
    nodes.set_down(SYNC_15, NODE_A, True)
    nodes.release(SYNC_15, email(fxa_uid))
    nodes.add_node(SYNC_15, NODE_B, 10)
    second = sync_token(1, 1, "aaaa").json
    assert second["uid"] != first["uid"]
    assert second["api_endpoint"] == f"{NODE_B}1.5/{second['uid']}"
    users = ts_app.app.registry.tokenserver_users
    assert users.get_user_by_uid(first["uid"]).replaced_at is not None
    assert sync_token(1, 1, "aaaa").json["uid"] == second["uid"]


def test_refused_requests_take_no_node(sync_token, nodes, signing_key, get_token, fxa_uid):
    nodes.add_node(SYNC_15, NODE_A, 10)
    sync_token(5, 5, "aaaa")
    nodes.release(SYNC_15, email(fxa_uid))
    sync_token(4, 5, "aaaa", status=401)  # lower generation
    assert nodes.get_assignment(SYNC_15, email(fxa_uid)) is None
    get_token(signing_key.access_token(fxa_uid, scope="profile"), status=401)
    assert nodes.list_nodes(SYNC_15)[0].assigned == 0
