"""URLs, routing and Basic authentication (spec sections 1 and 2)."""
from __future__ import annotations

import base64

import pytest
from storage11_support import PASSWORD, SyncClient, error_code

from synccore.testing import basic_auth

BASIC_CHALLENGE = 'Basic realm="Sync"'


def assert_unauthorized(response) -> None:
    """ST-A7: every 401 carries the Basic challenge and a short text page."""
    assert response.status_int == 401, response.status
    assert response.headers["WWW-Authenticate"] == BASIC_CHALLENGE
    assert b"401 Unauthorized" in response.body


def raw_basic(value: bytes) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(value).decode("ascii")}


# -- ST-R1 versions -------------------------------------------------------------

@pytest.mark.parametrize("version", ["1.1", "1.0", "1"])
def test_st_r1_every_version_prefix_serves_the_same_data(client, version):
    """ST-R1: 1.1, 1.0 and 1 address the same storage and behave identically."""
    client.put_record("bookmarks", "abc", {"payload": "written via 1.1"})
    client.version = version
    assert client.record("bookmarks", "abc")["payload"] == "written via 1.1"
    client.put_record("bookmarks", "def", {"payload": f"written via {version}"})
    assert client.post_batch("bookmarks", [{"id": "ghi", "payload": "x"}])["success"] == ["ghi"]
    client.delete("/storage/bookmarks/ghi")
    assert sorted(client.collections()) == ["bookmarks"]
    client.version = "1.1"
    assert client.ids("bookmarks") == ["abc", "def"]


@pytest.mark.parametrize("version", ["1.2", "2", "1.", "v1.1", "1.1.1", "11", "1.00"])
def test_st_r1_other_versions_are_unknown_routes(client, version):
    """ST-R1 / ST-R6: only the three version spellings route."""
    client.version = version
    client.get("/info/collections", status=404)


# -- ST-R2 / ST-R3 names ---------------------------------------------------------

@pytest.mark.parametrize("username", ["al@ice", "al%20ice", "al+ice", "al~ice", "%C3%A9",
                                      "al%2Fice"])
def test_st_r2_usernames_outside_the_charset_do_not_route(client, username):
    """ST-R2: a path user outside [A-Za-z0-9._-] matches no route: 404."""
    response = client.testapp.get(f"/1.1/{username}/info/collections", headers=client.auth,
                                  expect_errors=True)
    assert response.status_int == 404


def test_st_r2_whole_username_charset_routes(app):
    """ST-R2: letters, digits, dots, dashes and underscores all route."""
    app.app.registry.users.create_user("A.b_c-9", "pw")
    user = SyncClient(app, "A.b_c-9", "pw")
    user.put_record("tabs", "t", {"payload": "x"})
    assert user.ids("tabs") == ["t"]


@pytest.mark.parametrize("collection", ["a@b", "a%20b", "a+b", "%C3%A9t%C3%A9", "a~b"])
def test_st_r3_collection_names_outside_the_charset_do_not_route(client, collection):
    """ST-R3: a collection outside [A-Za-z0-9._-] matches no route: 404."""
    client.get(f"/storage/{collection}", status=404)
    client.put(f"/storage/{collection}/x", {"payload": "x"}, status=404)
    client.post(f"/storage/{collection}", [{"id": "x", "payload": "x"}], status=404)
    assert client.collections() == {}


@pytest.mark.parametrize("method", ["PUT", "POST"])
@pytest.mark.parametrize("path", ["/storage", "/storage/"])
def test_st_r3_write_without_collection_name_is_404(client, method, path):
    """ST-R3: PUT/POST to /storage (an empty collection name) answers 404."""
    client.request(method, path, [{"id": "a", "payload": "x"}], status=404)
    assert client.collections() == {}


def test_st_r3_collection_name_of_32_characters_works(client):
    """ST-R3: 32 characters is the longest valid name."""
    name = "c" * 32
    client.put_record(name, "a", {"payload": "x"})
    assert client.ids(name) == ["a"]
    assert list(client.collections()) == [name]


@pytest.mark.parametrize("method,path", [
    ("GET", ""), ("GET", "/a"), ("PUT", "/a"), ("PUT", ""), ("POST", ""), ("DELETE", ""),
    ("DELETE", "/a")])
def test_st_r3_collection_name_longer_than_32_is_code_13(client, method, path):
    """ST-R3 / ST-E2 / section 16.10: names over 32 characters -> 400 code 13."""
    response = client.request(method, "/storage/" + "c" * 33 + path,
                              [{"id": "a", "payload": "x"}] if not path else {"payload": "x"},
                              status=None)
    assert error_code(response) == 13
    assert client.collections() == {}


# -- ST-R4 ids in the path --------------------------------------------------------

def test_st_r4_reference_id_charset(client):
    """ST-R4: A-Z a-z 0-9 . _ - ~ and the percent-encoded ? # \\ are valid ids."""
    ids = {"AZaz09._-~": "AZaz09._-~", "%3Fq": "?q", "%23h": "#h", "%5Cb": "\\b"}
    for path_id, real_id in ids.items():
        client.put_record("forms", path_id, {"payload": real_id})
    assert sorted(client.ids("forms")) == sorted(ids.values())
    for path_id, real_id in ids.items():
        record = client.record("forms", path_id)
        assert (record["id"], record["payload"]) == (real_id, real_id)
        client.delete(f"/storage/forms/{path_id}")
    assert client.ids("forms") == []


@pytest.mark.parametrize("path_id,real_id", [
    ("{6820f3ca-6d5e-4f0a-9d3b-0123456789ab}", "{6820f3ca-6d5e-4f0a-9d3b-0123456789ab}"),
    ("%7Bbraced%7D", "{braced}"), ("a%20b", "a b"), ("%22q%22", '"q"'), ("a'b", "a'b"),
    ("%3Ctag%3E", "<tag>"), ("a%7Cb", "a|b"), ("a%5Eb", "a^b"), ("a%60b", "a`b"),
    ("a%25b", "a%b"), ("a+b", "a+b"), ("a=b&c", "a=b&c"), ("a;b,c", "a;b,c"),
    ("%C3%A9t%C3%A9", "été"), ("%F0%9F%98%80", "\U0001F600"), ("12", "12"), ("menu", "menu")])
def test_st_r4_any_printable_id_but_slash_is_accepted(client, path_id, real_id):
    """ST-R4 / ST-W6 / section 16.11: ids with other printable characters work by URL."""
    client.put_record("bookmarks", path_id, {"payload": "p"})
    assert client.record("bookmarks", path_id)["id"] == real_id
    assert client.ids("bookmarks") == [real_id]
    client.delete(f"/storage/bookmarks/{path_id}")
    client.get(f"/storage/bookmarks/{path_id}", status=404)


def test_st_r4_encoded_slash_in_an_id_matches_no_route(client):
    """ST-R4: an id is one path segment; ``%2F`` decodes to '/' and cannot address a record."""
    client.put("/storage/bookmarks/a%2Fb", {"payload": "p"}, status=404)
    client.get("/storage/bookmarks/a/b", status=404)
    assert client.collections() == {}


def test_st_r4_ids_up_to_64_characters(client):
    """ST-R4 / ST-W2: 64 characters is the longest id; 65 is refused by PUT."""
    client.put_record("bookmarks", "i" * 64, {"payload": "p"})
    assert client.ids("bookmarks") == ["i" * 64]
    assert error_code(client.put("/storage/bookmarks/" + "i" * 65, {"payload": "p"},
                                 status=400)) == 8
    client.get("/storage/bookmarks/" + "i" * 65, status=404)
    assert client.ids("bookmarks") == ["i" * 64]


# -- ST-R5 trailing slashes -------------------------------------------------------

def test_st_r5_trailing_slash_is_ignored_everywhere(client):
    """ST-R5: a trailing '/' on any path is ignored."""
    client.put("/storage/tabs/one/", {"payload": "x"})
    client.post("/storage/tabs/", [{"id": "two", "payload": "y"}])
    assert client.get("/storage/tabs/").json == ["one", "two"]
    assert client.get("/storage/tabs/one/").json["payload"] == "x"
    assert list(client.get("/info/collections/").json) == ["tabs"]
    assert client.get("/info/collection_counts/").json == {"tabs": 2}
    client.get("/info/collection_usage/")
    client.get("/info/quota/")
    client.delete("/storage/tabs/one/")
    assert client.ids("tabs") == ["two"]
    client.delete("/storage/tabs/")
    assert client.ids("tabs") == []
    client.delete("/storage/", headers={"X-Confirm-Delete": "1"})
    assert client.collections() == {}


# -- ST-R6 unknown paths and methods ----------------------------------------------

@pytest.mark.parametrize("path", [
    "/info", "/info/nothing", "/storage/c/a/b", "/storag", "/foo", "", "/info/collections/x"])
def test_st_r6_paths_without_a_route_are_404(client, path):
    """ST-R6: a path matching no route is 404 (with valid credentials too)."""
    client.get(path, status=404)


def test_st_r6_known_path_wrong_method_is_405(client):
    """ST-R6: a path that routes for other methods answers 405 and changes nothing."""
    client.put_record("c", "a", {"payload": "kept"})
    before = client.snapshot("c")
    for method, path in (
            ("POST", "/info/collections"), ("PUT", "/info/collections"),
            ("DELETE", "/info/collections"), ("DELETE", "/info/quota"),
            ("POST", "/info/collection_counts"), ("PUT", "/info/collection_usage"),
            ("POST", "/storage/c/a"), ("PATCH", "/storage/c/a"), ("PATCH", "/storage/c"),
            ("GET", "/storage"), ("PATCH", "/storage"), ("OPTIONS", "/storage/c"),
            ("OPTIONS", "/storage/c/a"), ("POST", "/storage/c/a/"), ("GET", "/storage/")):
        for auth in (True, False):
            response = client.request(method, path, {"payload": "new"}, auth=auth,
                                      status=None)
            assert response.status_int == 405, (method, path, auth)
            assert b"405 Method Not Allowed" in response.body
    assert client.snapshot("c") == before


# -- ST-R7 routing before authentication --------------------------------------------

def test_st_r7_unknown_path_without_credentials_is_404(client):
    """ST-R7: routing comes first: an unknown path is 404 even without credentials."""
    client.request("GET", "/nothing/here", auth=False, status=404)
    client.request("GET", "/storage/c/a/b", auth=False, status=404)
    response = client.testapp.get("/1.1/no@user/info/collections", expect_errors=True)
    assert response.status_int == 404


def test_st_r7_known_path_without_credentials_is_401(client):
    """ST-R7 / ST-A1: every known route needs credentials; nothing changes without them."""
    client.put_record("c", "a", {"payload": "kept"})
    before = client.snapshot("c")
    for method, path in (
            ("GET", "/info/collections"), ("GET", "/info/collection_counts"),
            ("GET", "/info/collection_usage"), ("GET", "/info/quota"), ("GET", "/storage/c"),
            ("GET", "/storage/c/a"), ("PUT", "/storage/c/a"), ("POST", "/storage/c"),
            ("PUT", "/storage/c"), ("DELETE", "/storage/c"), ("DELETE", "/storage/c/a"),
            ("DELETE", "/storage"), ("HEAD", "/info/collections")):
        response = client.request(method, path, {"payload": "x"}, auth=False, status=None,
                                  headers={"X-Confirm-Delete": "1"})
        assert response.status_int == 401, (method, path)
        assert response.headers["WWW-Authenticate"] == BASIC_CHALLENGE
    assert client.snapshot("c") == before


# -- ST-R8 / ST-R9 ----------------------------------------------------------------

def test_st_r8_unknown_query_parameters_are_ignored(client):
    """ST-R8 / ST-IC4 / ST-GI3: ?v=, client= and others never cause an error."""
    client.put("/storage/prefs/p?v=1.5&client=desktop", {"payload": "x"})
    client.post("/storage/prefs?blabla=1", [{"id": "q", "payload": "y"}])
    assert client.get("/info/collections?v=1.5").json == client.collections()
    client.get("/info/collection_counts?client=x&v=2")
    client.get("/info/collection_usage?v=1")
    client.get("/info/quota?v=1")
    assert client.get("/storage/prefs?blabla=1&v=1").json == ["p", "q"]
    assert client.get("/storage/prefs/p?full=1&v=3").json["payload"] == "x"
    client.delete("/storage/prefs/p?v=1")
    client.delete("/storage/prefs?blabla=1")
    assert client.ids("prefs") == []


@pytest.mark.parametrize("content_type", [
    None, "application/json", "application/json; charset=UTF-8", "text/plain",
    "application/x-www-form-urlencoded", "application/octet-stream", "multipart/form-data",
    "text/html; charset=latin-1", "garbage"])
def test_st_r9_any_request_content_type_is_accepted(client, content_type):
    """ST-R9: the body is UTF-8 JSON whatever the request Content-Type says."""
    headers = {"Content-Type": content_type} if content_type else {}
    client.put("/storage/forms/one", '{"payload": "é"}', headers=headers)
    client.post("/storage/forms", '[{"id": "two", "payload": "ü"}]', headers=headers)
    client.put("/storage/forms", '[{"id": "three", "payload": "x"}]', headers=headers)
    assert [r["payload"] for r in client.records("forms")] == ["é", "x", "ü"]


# -- ST-A1 .. ST-A8 authentication --------------------------------------------------

def test_st_a1_no_authorization_header(client):
    """ST-A1: no header -> 401 with the Basic challenge."""
    assert_unauthorized(client.get("/info/collections", auth=False, status=None))


def test_st_a2_unusable_authorization_headers(client):
    """ST-A2: other schemes, bad base64 or no ':' -> 401."""
    for header in (
            "Bearer abcdef", "Digest username=alice", "Basic", "Basic ",
            "Basic !!!notbase64!!!",
            "Basic YWxpY2U=",  # "alice": no colon
            "Basic " + base64.b64encode(b"alice" + PASSWORD.encode()).decode(),  # no colon
            "Basic YWxpY2U6cGFzcw",  # bad padding
            "Basic\tYWxpY2U6eA==", "alice:" + PASSWORD, "Basic " + "A" * 5000,
            "Basic " + base64.b64encode(b"alice:" + PASSWORD.encode()).decode() + "!"):
        response = client.get("/info/collections", auth=False, status=None,
                              headers={"Authorization": header})
        assert response.status_int == 401, header[:40]
        assert_unauthorized(response)


def test_st_a3_password_is_everything_after_the_first_colon(app):
    """ST-A3: passwords may contain ':' (split at the first one)."""
    app.app.registry.users.create_user("carol", "a:b:c:")
    carol = SyncClient(app, "carol", "a:b:c:")
    carol.get("/info/collections")
    for password in ("a", "a:b", "a:b:c", "b:c:"):
        carol.testapp.get("/1.1/carol/info/collections", headers=basic_auth("carol", password),
                          status=401)


@pytest.mark.parametrize("header_user", ["Alice", "ALICE", "alice ", " alice", "bob"])
def test_st_a4_basic_user_must_equal_path_user(client, other_client, header_user):
    """ST-A4: a Basic user different from the path user (even by case) -> 401."""
    password = other_client.password if header_user == "bob" else client.password
    response = client.get("/info/collections", auth=False, status=None,
                          headers=basic_auth(header_user, password))
    assert_unauthorized(response)


def test_st_a4_valid_credentials_of_another_user_cannot_write(client, other_client):
    """ST-A4: bob's valid credentials on alice's path are refused; nothing changes."""
    client.put_record("c", "a", {"payload": "alice's"})
    response = client.put("/storage/c/a", {"payload": "bob's"}, auth=False, status=None,
                          headers=other_client.auth)
    assert_unauthorized(response)
    assert client.record("c", "a")["payload"] == "alice's"
    assert other_client.collections() == {}


@pytest.mark.parametrize("password", ["pässwörd", "密码密码", "\U0001F511 key", "ß:ü"])
def test_st_a5_non_ascii_passwords_work(app, password):
    """ST-A5: the password is UTF-8; non-ASCII passwords authenticate."""
    app.app.registry.users.create_user("dave", password)
    dave = SyncClient(app, "dave", password)
    dave.put_record("c", "a", {"payload": "x"})
    assert dave.ids("c") == ["a"]


def test_st_a5_password_bytes_that_are_not_utf8_are_401(client):
    """ST-A5: invalid UTF-8 in the decoded credentials -> 401 (never a 500)."""
    latin1 = PASSWORD.encode("latin-1", errors="replace")
    for value in (b"alice:" + latin1, b"alice:\xff\xfe", b"alice:\xc3", b"al\xffice:pw"):
        assert_unauthorized(client.get("/info/collections", auth=False, status=None,
                                       headers=raw_basic(value)))


def test_st_a6_unknown_user_wrong_password_disabled_account(client):
    """ST-A6: unknown user, wrong password or a disabled account -> 401."""
    stranger = SyncClient(client.testapp, "stranger", "whatever")
    assert_unauthorized(stranger.get("/info/collections", status=None))
    wrong = SyncClient(client.testapp, "alice", PASSWORD + "x")
    assert_unauthorized(wrong.get("/info/collections", status=None))
    assert_unauthorized(SyncClient(client.testapp, "alice", "").get("/info/collections",
                                                                    status=None))
    client.put_record("c", "a", {"payload": "x"})  # credentials now verified (and cached)
    client.testapp.app.registry.users.set_disabled("alice", True)
    assert_unauthorized(client.get("/info/collections", status=None))
    assert_unauthorized(client.put("/storage/c/a", {"payload": "y"}, status=None))
    client.testapp.app.registry.users.set_disabled("alice", False)
    assert client.record("c", "a")["payload"] == "x"


def test_st_a6_password_change_takes_effect_at_once(client):
    """ST-A6: after a password change the old password is refused at once."""
    client.get("/info/collections")
    client.testapp.app.registry.users.set_password("alice", "new password")
    assert_unauthorized(client.get("/info/collections", status=None))
    SyncClient(client.testapp, "alice", "new password").get("/info/collections")


def test_st_a7_every_401_carries_the_challenge(client, other_client):
    """ST-A7 / section 16.14: WWW-Authenticate on every kind of 401, not only 'no header'."""
    cases = [{}, {"Authorization": "Bearer x"}, basic_auth("alice", "wrong"),
             basic_auth("nobody", "x"), other_client.auth, raw_basic(b"alice:\xff")]
    for headers in cases:
        for method, path in (("GET", "/info/quota"), ("PUT", "/storage/c/a"),
                             ("POST", "/storage/c"), ("DELETE", "/storage")):
            assert_unauthorized(client.request(method, path, {"payload": "x"}, auth=False,
                                               headers=headers, status=None))


def test_st_a8_node_pinning_is_off_by_default(client):
    """ST-A8: without auth.check_node any Host header is served."""
    for host in ("other-node.example.com", "localhost:9999", "10.0.0.1"):
        assert client.get("/info/collections", headers={"Host": host}).json == {}


# -- ST-HB1 heartbeat -----------------------------------------------------------------

def test_st_hb1_heartbeat_needs_no_auth(app):
    """ST-HB1: GET and HEAD /__heartbeat__ -> 200 with an empty body, no credentials."""
    response = app.get("/__heartbeat__")
    assert response.status_int == 200
    assert response.body == b""
    head = app.head("/__heartbeat__")
    assert head.status_int == 200
    assert head.body == b""
    assert "X-Weave-Timestamp" in response.headers


def test_st_r4_ids_differing_only_by_trailing_spaces_are_distinct(client):
    """ST-R4 / ST-W13: 'a' and 'a ' are two records (ids compare exactly, also on
    MySQL/MariaDB, whose binary collations would ignore trailing spaces)."""
    client.put_record("tabs", "a", {"payload": "no space"})
    client.put_record("tabs", "a%20", {"payload": "one space"})
    client.post_batch("tabs", [{"id": "a  ", "payload": "two spaces"}])
    assert client.ids("tabs") == ["a", "a ", "a  "]
    assert client.record("tabs", "a")["payload"] == "no space"
    assert client.record("tabs", "a%20")["payload"] == "one space"
    client.put_record("tabs", "b", {"payload": "x", "parentid": "p "})
    assert client.ids("tabs", "parentid=p") == []
    assert client.ids("tabs", "parentid=p%20") == ["b"]
