"""The generation / keys_changed_at / client-state rules (tokenserver-1.0 §5),
through the endpoint, on every engine. Accounts start at g=1234, k=1234, cs=aaaa
as in the spec's worked examples."""
from __future__ import annotations

import pytest

from synccore.testing import make_settings, make_test_app
from syncreg.tokenserver import rules
from syncreg.tokenserver.errors import TokenServerError
from syncreg.tokenserver.testing import PUBLIC_URL, key_id_header
from syncreg.tokenserver.users import RETIRED_GENERATION

SERVICE = "sync-1.5"


def email(fxa_uid: str) -> str:
    return f"{fxa_uid}@api.accounts.firefox.com"


def history(ts_app, fxa_uid):
    return ts_app.app.registry.tokenserver_users.get_user_history(SERVICE, email(fxa_uid))


def assert_refused(response, status: str, description: str = "Unauthorized") -> None:
    assert response.status_int == 401
    error = response.json["errors"][0]
    assert (response.json["status"], error["description"]) == (status, description)


def assert_client_state_refused(response, reason: str) -> None:
    assert_refused(response, "invalid-client-state", f"Unacceptable client-state value {reason}")
    assert response.json["errors"][0]["location"] == "header"
    assert response.json["errors"][0]["name"] == "X-Client-State"


@pytest.fixture
def start(sync_token):
    return sync_token(1234, 1234, "aaaa").json["uid"]


def test_key_change_gives_a_new_uid(sync_token, start, ts_app, fxa_uid):
    body = sync_token(1235, 1235, "bbbb").json
    assert body["uid"] != start
    assert body["api_endpoint"].endswith(f"/1.5/{body['uid']}")
    users = ts_app.app.registry.tokenserver_users
    old = users.get_user_by_uid(start)
    assert old.replaced_at is not None
    current = history(ts_app, fxa_uid)
    assert (current.current.uid, current.current.generation, current.current.keys_changed_at,
            current.current.client_state) == (body["uid"], 1235, 1235, "bbbb")
    assert current.old_client_states == frozenset({"aaaa"})
    # ...and going back to the old keys is refused.
    assert_client_state_refused(sync_token(1236, 1236, "aaaa", status=401), "stale value")
    assert sync_token(1235, 1235, "bbbb").json["uid"] == body["uid"]


def test_new_state_without_generation_change(sync_token, start):
    assert_client_state_refused(sync_token(1234, 1234, "bbbb", status=401),
                                "new value with no generation change")


def test_new_state_without_keys_changed_at_change(sync_token, start):
    assert_client_state_refused(sync_token(1235, 1234, "bbbb", status=401),
                                "new value with no keys_changed_at change")


def test_keys_changed_after_generation(sync_token, start):
    assert_refused(sync_token(1235, 1236, "aaaa", status=401), "invalid-keysChangedAt")


def test_key_change_without_generation_claim(sync_token, start, ts_app, fxa_uid):
    body = sync_token(None, 1235, "bbbb").json
    assert body["uid"] != start
    assert history(ts_app, fxa_uid).current.generation == 1235


def test_lower_generation(sync_token, start, ts_app, fxa_uid):
    assert_refused(sync_token(1233, 1234, "aaaa", status=401), "invalid-generation")
    assert history(ts_app, fxa_uid).current.generation == 1234


def test_lower_keys_changed_at(sync_token, start):
    assert_refused(sync_token(1234, 1233, "aaaa", status=401), "invalid-keysChangedAt")


def test_missing_keys_changed_at_after_one_was_seen(sync_token, start):
    assert_refused(sync_token(1234, 0, "aaaa", status=401), "invalid-keysChangedAt")


def test_generation_update_in_place(sync_token, start, ts_app, fxa_uid):
    assert sync_token(2000, 1234, "aaaa").json["uid"] == start
    assert history(ts_app, fxa_uid).current.generation == 2000
    assert_refused(sync_token(1999, 1234, "aaaa", status=401), "invalid-generation")
    assert sync_token(None, 1234, "aaaa").json["uid"] == start  # no claim: accepted


def test_refused_request_writes_nothing(sync_token, start, ts_app, fxa_uid):
    # Rule 6 fails after a generation bump would have been computed: nothing changes.
    assert_refused(sync_token(1300, 1200, "aaaa", status=401), "invalid-keysChangedAt")
    current = history(ts_app, fxa_uid).current
    assert (current.generation, current.keys_changed_at) == (1234, 1234)


def test_keys_changed_at_reported_late_updates_in_place(sync_token, ts_app, fxa_uid):
    uid = sync_token(1234, 0, "aaaa").json["uid"]
    assert history(ts_app, fxa_uid).current.keys_changed_at == 0
    assert sync_token(1234, 1200, "aaaa").json["uid"] == uid
    current = history(ts_app, fxa_uid).current
    assert (current.uid, current.generation, current.keys_changed_at) == (uid, 1234, 1200)


def test_key_change_implies_generation_change(sync_token, ts_app, fxa_uid):
    uid = sync_token(None, 1000, "aaaa").json["uid"]
    assert sync_token(None, 1500, "aaaa").json["uid"] == uid
    assert history(ts_app, fxa_uid).current.generation == 1500


def test_client_state_change_without_any_clock(get_token, signing_key, fxa_uid, ts_app):
    # Neither generation nor keys_changed_at known: a new state is accepted once.
    bearer = signing_key.access_token(fxa_uid)
    first = get_token(bearer, key_id_header(0, "aaaa")).json["uid"]
    second = get_token(bearer, key_id_header(0, "bbbb")).json["uid"]
    assert second != first
    assert_client_state_refused(get_token(bearer, key_id_header(0, "aaaa"), status=401),
                                "stale value")


def test_legacy_row_without_client_state(ts_app, fxa_uid, sync_token):
    users = ts_app.app.registry.tokenserver_users
    legacy = users.create_user(SERVICE, email(fxa_uid), 10, 0, "",
                               PUBLIC_URL, 1)
    # A row without client state may move to one (new uid)...
    assert sync_token(11, 0, "aaaa").json["uid"] != legacy.uid
    # ...but never back to none (rule 2; X-KeyID cannot even carry an empty state).
    with pytest.raises(TokenServerError) as refused:
        rules.check(history(ts_app, fxa_uid), rules.Claims(12, 0, ""))
    assert refused.value.description == "Unacceptable client-state value empty string"


def test_retired_account(sync_token, start, ts_app, fxa_uid):
    users = ts_app.app.registry.tokenserver_users
    assert users.retire_user(SERVICE, email(fxa_uid), 5000) == 1
    assert_refused(sync_token(1235, 1234, "aaaa", status=401), "invalid-generation")
    assert sync_token(RETIRED_GENERATION, 1234, "aaaa").json["uid"] == start


def test_replaced_row_gets_a_new_uid(sync_token, start, ts_app, fxa_uid):
    users = ts_app.app.registry.tokenserver_users
    assert users.replace_users_on_node(SERVICE, PUBLIC_URL, 5000) == 1
    body = sync_token(1234, 1234, "aaaa").json
    assert body["uid"] != start
    current = history(ts_app, fxa_uid).current
    assert (current.uid, current.generation, current.keys_changed_at, current.client_state) \
        == (body["uid"], 1234, 1234, "aaaa")
    assert sync_token(1234, 1234, "aaaa").json["uid"] == body["uid"]


def test_creation_race_is_resolved(ts_app, fxa_uid, sync_token):
    users = ts_app.app.registry.tokenserver_users
    node = PUBLIC_URL
    older = users.create_user(SERVICE, email(fxa_uid), 1234, 1234, "aaaa", node, 1000)
    newer = users.create_user(SERVICE, email(fxa_uid), 1234, 1234, "aaaa", node, 2000)
    assert sync_token(1234, 1234, "aaaa").json["uid"] == newer.uid
    assert users.get_user_by_uid(older.uid).replaced_at == 2000
    assert users.get_user_by_uid(newer.uid).replaced_at is None


# -- allow_new_users -------------------------------------------------------------

@pytest.fixture
def closed_app(database_url, signing_key):
    return make_test_app(make_settings(database_url, master_secret="s", **{
        "server.public_url": PUBLIC_URL, "tokenserver.jwks": signing_key.jwks_json(),
        "tokenserver.oauth_server_url": "", "tokenserver.allow_new_users": "false"}))


def test_new_users_disabled(closed_app, signing_key, fxa_uid):
    response = closed_app.get("/1.0/sync/1.5", status=401, headers={
        "Authorization": "Bearer " + signing_key.access_token(fxa_uid), "X-KeyID": "1-qqo"})
    assert_refused(response, "new-users-disabled")
    assert response.json["errors"][0]["location"] == "body"
    assert history(closed_app, fxa_uid) is None


def test_replaced_account_still_served_when_closed(sync_token, start, closed_app,
                                                  signing_key, fxa_uid, ts_app):
    """§5.5: an account whose only row was replaced is not new: it gets a new uid."""
    users = ts_app.app.registry.tokenserver_users
    assert users.replace_users_on_node(SERVICE, PUBLIC_URL, 5000) == 1
    response = closed_app.get("/1.0/sync/1.5", headers={
        "Authorization": "Bearer " + signing_key.access_token(fxa_uid, generation=1234),
        "X-KeyID": key_id_header(1234, "aaaa")})
    assert response.json["uid"] != start


def test_known_users_still_served_when_closed(sync_token, start, closed_app, signing_key,
                                              fxa_uid):
    def get(generation, key_id):
        return closed_app.get("/1.0/sync/1.5", headers={
            "Authorization": "Bearer " + signing_key.access_token(fxa_uid,
                                                                  generation=generation),
            "X-KeyID": key_id})

    assert get(1234, key_id_header(1234, "aaaa")).json["uid"] == start
    # A key change still gets a fresh uid.
    assert get(1235, key_id_header(1235, "bbbb")).json["uid"] != start
