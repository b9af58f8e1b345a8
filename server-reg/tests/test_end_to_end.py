"""A Sync 1.1 account's whole life through the composed application, with the
accounts in SQL (every engine) and in a real slapd: sign-up from an e-mail
address, node lookup, syncing over the same URL space (US-R4), a password reset
by mail, and deletion (US-PUT, US-NODE, US-PR, US-RM*, US-PW2, US-PW4, US-WR6,
US-DEL2)."""
from __future__ import annotations

import json
import logging
from urllib.parse import urlsplit

from synccore.testing import basic_auth, make_settings, make_test_app
from synccore.users.ldap import LDAPUserBackend
from syncreg.nodes import SYNC_11
from syncreg.rules import client_username
from syncreg.testing import TEST_PUBLIC_URL

EMAIL = "Sync.User@Example.COM"
PASSWORD = "my first password"
NEW_PASSWORD = "mynewpassword"


def test_account_life(database_url, smtp_server, caplog):
    # Production-like: strict usernames (the default) and a node to assign.
    app = make_test_app(make_settings(database_url, **smtp_server.settings(),
                                      **{"server.public_url": TEST_PUBLIC_URL}))
    live_an_account(app, smtp_server, caplog)


def test_account_life_in_ldap(slapd, make_ldap_app, smtp_server, caplog):
    """The same life with the accounts in a directory: every step reads or
    writes the account's entry there."""
    app = make_ldap_app(slapd)
    users = app.app.registry.users
    assert isinstance(users, LDAPUserBackend)
    first_id = live_an_account(app, smtp_server, caplog)
    # The name registered again is a new entry with the mailed-to address.
    username = client_username(EMAIL)
    entry = f"uid={username},{users.layout.users_base_dn}"
    assert slapd.read_attribute(entry, "mail") == [EMAIL.encode()]
    assert users.get_user(username).userid != first_id


def live_an_account(app, smtp_server, caplog) -> int:
    """Walks one account through its life; returns the numeric id it had."""
    caplog.set_level(logging.DEBUG)
    app.app.registry.nodes.add_node(SYNC_11, TEST_PUBLIC_URL, 100)

    # Firefox derives the username from the address and checks it is free.
    username = client_username(EMAIL)
    user_url = f"/user/1.0/{username}"
    assert app.get(user_url).text == "0"
    created = app.put(user_url, json.dumps({"email": EMAIL, "password": PASSWORD}))
    assert created.text == username
    assert app.get(user_url).text == "1"
    userid = app.app.registry.users.get_user(username).userid

    # It asks for its storage node and syncs a record there.
    node = app.get(user_url + "/node/weave").text
    assert node == TEST_PUBLIC_URL
    storage = urlsplit(node).path + f"1.1/{username}/storage"
    auth = basic_auth(username, PASSWORD)
    record = {"id": "bookmark1", "payload": json.dumps({"ciphertext": "abc"})}
    app.put(f"{storage}/bookmarks/bookmark1", json.dumps(record), headers=auth)
    assert app.get(f"{storage}/bookmarks/bookmark1", headers=auth).json["payload"] == \
        record["payload"]

    # The password is forgotten: a reset is requested and mailed.
    assert app.get(user_url + "/password_reset").text == "success"
    [mail] = smtp_server.messages
    assert mail.recipients == [EMAIL]
    link, query = mail.reset_link()
    assert link.startswith(TEST_PUBLIC_URL + "weave-password-reset?")
    assert query["username"] == username

    # The code from the link sets the password the user typed, once.
    headers = {"X-Weave-Password-Reset": query["key"]}
    changed = app.post(f"/user/1.0/{query['username']}/password", NEW_PASSWORD.encode(),
                       headers=headers)
    assert changed.text == "success"
    app.post(user_url + "/password", b"someone else's try", headers=headers, status=400)
    app.get(f"{storage}/bookmarks/bookmark1", headers=auth, status=401)
    auth = basic_auth(username, NEW_PASSWORD)
    assert app.get(f"{storage}/bookmarks/bookmark1", headers=auth).json["id"] == "bookmark1"

    # Deleting the account removes its data: the same name starts empty.
    stored = app.app.registry.storage
    assert stored.collection_timestamps(userid) != {}
    assert app.delete(user_url, headers=auth).text == "1"
    assert stored.collection_timestamps(userid) == {}
    assert app.get(user_url).text == "0"
    app.get(f"/1.1/{username}/info/collections", headers=auth, status=401)
    app.put(user_url, json.dumps({"email": EMAIL, "password": NEW_PASSWORD}))
    assert app.get(f"/1.1/{username}/info/collections", headers=auth).json == {}
    assert app.app.registry.nodes.list_nodes(SYNC_11)[0].assigned == 0

    # US-P3: neither password nor the reset code ever reached a log line.
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "password reset mail sent" in logged
    for secret in (PASSWORD, NEW_PASSWORD, query["key"]):
        assert secret not in logged
    return userid
