"""Devices, their commands, attached clients (accounts-firefox.md §3) and the
profile endpoint."""
from __future__ import annotations

import pytest

from syncreg.fxa.oauth import OLDSYNC
from syncreg.fxa.testing import FIREFOX_CLIENT_ID

EMAIL = "alice@example.com"
PASSWORD = "correct horse battery"
SEND_TAB = "https://identity.mozilla.com/cmd/open-uri"


@pytest.fixture
def laptop(client):
    return client.sign_up(EMAIL, PASSWORD)


@pytest.fixture
def phone(client, laptop):
    return client.sign_in(EMAIL, PASSWORD)


def register(client, signed_in, name: str, **body):
    return client.post("/v1/account/device", {"name": name, "type": "desktop", **body},
                       session=signed_in.session_token).json


def test_register_update_and_list(client, laptop, phone):
    mine = register(client, laptop, "Laptop", availableCommands={SEND_TAB: "keys"})
    assert len(mine["id"]) == 32 and mine["pushEndpointExpired"] is False
    other = register(client, phone, "Phone", type="mobile")
    updated = client.post("/v1/account/device", {"id": mine["id"], "name": "Work laptop",
                                                 "pushCallback": "https://push.example/x"},
                          session=laptop.session_token).json
    assert (updated["id"], updated["name"], updated["type"]) == (mine["id"], "Work laptop",
                                                                 "desktop")
    assert updated["availableCommands"] == {SEND_TAB: "keys"}  # kept
    listed = client.get("/v1/account/devices?filterIdleDevicesTimestamp=0",
                        session=laptop.session_token).json
    assert {d["id"]: d["isCurrentDevice"] for d in listed} == {mine["id"]: True,
                                                               other["id"]: False}
    assert {d["id"]: d["pushCallback"] for d in listed}[mine["id"]] == "https://push.example/x"


def test_one_device_per_session(client, laptop):
    first = register(client, laptop, "Firefox")
    second = register(client, laptop, "Firefox again")
    devices = client.get("/v1/account/devices", session=laptop.session_token).json
    assert [d["id"] for d in devices] == [second["id"]] != [first["id"]]


@pytest.mark.parametrize("body, errno", [
    ({"name": "x", "type": "fridge"}, 107),
    ({"type": "desktop"}, 108),
    ({"id": "0" * 32, "name": "x"}, 123),
    ({"id": "nothex", "name": "x"}, 107),
    ({"name": "x", "availableCommands": ["not", "a", "map"]}, 107),
    ({"name": "x" * 300}, 107),
    ({"name": "x", "pushPublicKey": "k" * 300}, 107),
])
def test_bad_device_registrations(client, laptop, body, errno):
    response = client.post("/v1/account/device", body, session=laptop.session_token,
                           status=400)
    assert response.json["errno"] == errno


def test_send_a_command_to_another_device(client, laptop, phone):
    sender = register(client, laptop, "Laptop")
    target = register(client, phone, "Phone", availableCommands={SEND_TAB: "keys"})
    sent = client.post("/v1/account/devices/invoke_command", {
        "target": target["id"], "command": SEND_TAB, "payload": {"encrypted": "blob"}},
        session=laptop.session_token).json
    assert sent["enqueued"] is True
    fetched = client.get("/v1/account/device/commands?index=0",
                         session=phone.session_token).json
    assert fetched["last"] is True
    assert fetched["messages"] == [{"index": sent["index"], "data": {
        "command": SEND_TAB, "payload": {"encrypted": "blob"}, "sender": sender["id"]}}]
    # The next poll asks from index + 1: nothing new.
    after = client.get(f"/v1/account/device/commands?index={sent['index'] + 1}",
                       session=phone.session_token).json
    assert after["messages"] == []
    # Commands the target does not accept are refused; so are unknown targets.
    assert client.post("/v1/account/devices/invoke_command", {
        "target": sender["id"], "command": SEND_TAB, "payload": {}},
        session=phone.session_token, status=400).json["errno"] == 107
    assert client.post("/v1/account/devices/invoke_command", {
        "target": "0" * 32, "command": SEND_TAB, "payload": {}},
        session=phone.session_token, status=400).json["errno"] == 123
    client.post("/v1/account/devices/notify", {"to": "all", "payload": {}},
                session=laptop.session_token)


def test_command_pages(client, laptop, phone):
    register(client, laptop, "Laptop")
    target = register(client, phone, "Phone", availableCommands={SEND_TAB: "keys"})
    for n in range(3):
        client.post("/v1/account/devices/invoke_command", {
            "target": target["id"], "command": SEND_TAB, "payload": {"n": n}},
            session=laptop.session_token)
    page = client.get("/v1/account/device/commands?index=0&limit=2",
                      session=phone.session_token).json
    assert [m["data"]["payload"]["n"] for m in page["messages"]] == [0, 1]
    assert page["last"] is False
    rest = client.get(f"/v1/account/device/commands?index={page['index'] + 1}",
                      session=phone.session_token).json
    assert [m["data"]["payload"]["n"] for m in rest["messages"]] == [2]
    assert client.get("/v1/account/device/commands?index=x", session=phone.session_token,
                      status=400).json["errno"] == 107


def test_destroying_a_device_ends_its_session(client, laptop, phone):
    register(client, laptop, "Laptop")
    other = register(client, phone, "Phone")
    client.post("/v1/account/device/destroy", {"id": other["id"]},
                session=laptop.session_token)
    assert client.get("/v1/session/status", session=phone.session_token,
                      status=401).json["errno"] == 110
    assert client.post("/v1/account/device/destroy", {"id": other["id"]},
                       session=laptop.session_token, status=400).json["errno"] == 123


def test_signing_out_removes_the_device(client, laptop, phone):
    register(client, phone, "Phone")
    client.post("/v1/session/destroy", session=phone.session_token)
    assert client.get("/v1/account/devices", session=laptop.session_token).json == []


def test_attached_clients(client, laptop, phone):
    device = register(client, laptop, "Laptop")
    tokens, _keys = client.connect_firefox(laptop)
    attached = client.get("/v1/account/attached_clients", session=laptop.session_token).json
    sessions = [c for c in attached if c["sessionTokenId"]]
    assert sorted((c["deviceId"] or "", c["isCurrentSession"]) for c in sessions) == [
        ("", False), (device["id"], True)]
    oauth = [c for c in attached if c["clientId"]]
    assert [c["clientId"] for c in oauth] == [FIREFOX_CLIENT_ID]
    assert tokens["refresh_token"] not in str(attached)  # only its hash is known


def test_profile(client, laptop):
    tokens, _keys = client.connect_firefox(laptop, scope=f"{OLDSYNC} profile")
    profile = client.get("/v1/profile", headers={
        "Authorization": f"Bearer {tokens['access_token']}"}).json
    assert (profile["uid"], profile["email"]) == (laptop.uid, EMAIL)
    sync_only, _keys = client.connect_firefox(laptop, scope=OLDSYNC)
    assert client.get("/v1/profile", headers={
        "Authorization": f"Bearer {sync_only['access_token']}"}, status=403).json["code"] == 403
    for header in ({}, {"Authorization": "Bearer junk"}, {"Authorization": "Basic eDp5"}):
        assert client.get("/v1/profile", headers=header, status=401).json["errno"] == 110
