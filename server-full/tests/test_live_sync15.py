"""Firefox's Sync 1.5 flow against a live ``bin/paster serve``, over real sockets.

The test generates an RSA key and configures its public half as the token
server's trusted JWK (``tokenserver.jwks``, offline verification), so the
access tokens it signs are real RS256 JWTs with the oldsync scope. It
exchanges one at ``GET /1.0/sync/1.5`` and signs storage requests with the
returned ``id``/``key`` using hawkauthlib, the way Firefox does; every request
goes through http.client to the server process. The whole flow runs on
every engine.
"""
from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import hawkauthlib
import pytest
import tokenlib
import webob

from syncreg.tokenserver.testing import SigningKey, key_id_header
from syncserver.testing import HttpResponse, PasterServer, free_port, http_request, write_ini

pytestmark = pytest.mark.slow

INI_SECRET = "live-ini-master-secret"
TOKEN_FIELDS = {"id", "key", "uid", "api_endpoint", "duration", "hashalg", "hashed_fxa_uid",
                "node_type"}


@pytest.fixture(scope="module")
def signing_key() -> SigningKey:
    return SigningKey("live")


@pytest.fixture
def serve(tmp_path, signing_key) -> Iterator:
    """``serve(database_url, env=None)`` starts ``bin/paster serve`` on a free
    port: the ini holds the master secret and trusts only ``signing_key``;
    ``env`` adds environment variables for the server process."""
    servers: list[PasterServer] = []

    def serve(database_url: str, env: dict[str, str] | None = None) -> PasterServer:
        port = free_port()
        ini = write_ini(tmp_path / f"live-{len(servers)}.ini", {
            "sqlalchemy.url": database_url,
            "db.auto_migrate": "true",
            "server.public_url": f"http://127.0.0.1:{port}/",
            "master_secret": INI_SECRET,
            "tokenserver.jwks": signing_key.jwks_json(),
            "tokenserver.oauth_verifier": "local",
            "tokenserver.oauth_server_url": "",
        }, port=port)
        server = PasterServer(ini, port, env=env)
        servers.append(server.__enter__())
        return server

    yield serve
    for server in servers:
        server.stop()
        assert "Traceback" not in server.output, server.output


class Firefox:
    """One account's client: an OAuth token in, Hawk-signed storage requests out."""

    def __init__(self, server: PasterServer, signing_key: SigningKey):
        self.base_url = server.base_url
        self.signing_key = signing_key
        self.fxa_uid = uuid.uuid4().hex
        self.credentials: dict[str, Any] = {}

    def exchange(self, query: str = "") -> HttpResponse:
        """``GET /1.0/sync/1.5`` with a fresh access token; keeps the credentials."""
        bearer = self.signing_key.access_token(self.fxa_uid, generation=1700000000000)
        response = http_request("GET", f"{self.base_url}/1.0/sync/1.5{query}", headers={
            "Authorization": f"Bearer {bearer}",
            # Firefox spells it X-KeyId: header names are case-insensitive.
            "X-KeyId": key_id_header(1700000000000, "630dcd2966c4336691125448bbb25b4f"),
            "Accept": "application/json"})
        if response.status == 200:
            self.credentials = response.json()
        return response

    @property
    def endpoint(self) -> str:
        return self.credentials["api_endpoint"]

    def sign(self, method: str, url: str, *, token: str | None = None, key: str | None = None,
             params: dict[str, str] | None = None) -> str:
        """The ``Authorization`` header hawkauthlib makes for this request."""
        request = webob.Request.blank(url, method=method)
        return hawkauthlib.sign_request(request, token or self.credentials["id"],
                                        key or self.credentials["key"],
                                        params=dict(params) if params else None)

    def send(self, method: str, url: str, authorization: str, body: Any = None,
             headers: dict[str, str] | None = None) -> HttpResponse:
        return http_request(method, url, body, headers={
            "Authorization": authorization, "Accept": "application/json", **(headers or {})})

    def request(self, method: str, path: str, body: Any = None, *,
                headers: dict[str, str] | None = None, **signing: Any) -> HttpResponse:
        """A Hawk-signed request to ``api_endpoint + path``."""
        url = self.endpoint + path
        return self.send(method, url, self.sign(method, url, **signing), body, headers)


def assert_unauthorized(response: HttpResponse) -> None:
    """Storage 1.5's 401: body 0, the Hawk challenge, the server's clock."""
    assert response.status == 401, response.body
    assert response.body == b"0"
    assert response.headers["WWW-Authenticate"] == "Hawk"
    float(response.headers["X-Weave-Timestamp"])


def tokenlib_token(secret: str, uid: int, node: str, expires: float) -> tuple[str, str]:
    """A token as another token server sharing ``secret`` would mint it."""
    token = tokenlib.make_token({"uid": uid, "node": node, "expires": expires}, secret=secret)
    return token, tokenlib.get_derived_secret(token, secret=secret)


def records(*ids: str) -> list[dict[str, str]]:
    return [{"id": item, "payload": f"encrypted {item}"} for item in ids]


def test_token_exchange_then_batch_upload_and_read_back(database_url, serve, signing_key):
    server = serve(database_url)
    firefox = Firefox(server, signing_key)

    response = firefox.exchange()
    assert response.status == 200, response.body
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.headers["X-Timestamp"].isdigit()
    body = response.json()
    assert set(body) == TOKEN_FIELDS
    uid = body["uid"]
    assert body["api_endpoint"] == f"{server.base_url}/1.5/{uid}"
    assert (body["duration"], body["hashalg"]) == (3600, "sha256")
    claims = tokenlib.parse_token(body["id"], secret=INI_SECRET)
    assert (claims["uid"], claims["node"], claims["fxa_uid"]) == (
        uid, f"{server.base_url}/", firefox.fxa_uid)

    info = firefox.request("GET", "/info/collections")
    assert info.status == 200, info.body
    assert info.json() == {}
    assert info.headers["X-Last-Modified"] == "0.00"

    first = firefox.request("PUT", "/storage/bookmarks/menu", {"payload": "written first"})
    assert first.status == 200, first.body
    since = first.headers["X-Last-Modified"]

    opened = firefox.request("POST", "/storage/bookmarks?batch=true", records("a", "b"))
    assert opened.status == 202, opened.body
    batch = opened.json()["batch"]
    assert opened.json()["success"] == ["a", "b"]
    assert opened.headers["X-Last-Modified"] == since
    added = firefox.request("POST", f"/storage/bookmarks?batch={batch}", records("c"))
    assert (added.status, added.json()["batch"]) == (202, batch)
    staged = firefox.request("GET", f"/storage/bookmarks?newer={since}")
    assert staged.json() == []  # nothing staged is visible before the commit

    committed = firefox.request("POST", f"/storage/bookmarks?batch={batch}&commit=true",
                                records("d"))
    assert committed.status == 200, committed.body
    modified = committed.json()["modified"]
    assert committed.json()["success"] == ["d"]
    assert committed.headers["X-Last-Modified"] == f"{modified:.2f}"
    assert modified > float(since)

    newer = firefox.request("GET", f"/storage/bookmarks?newer={since}&full=1")
    assert newer.status == 200
    got = {item["id"]: item for item in newer.json()}
    assert sorted(got) == ["a", "b", "c", "d"]
    assert all(item["payload"] == f"encrypted {name}" for name, item in got.items())
    assert {item["modified"] for item in got.values()} == {modified}
    assert newer.headers["X-Weave-Records"] == "4"

    polled = firefox.request("GET", "/info/collections")
    assert polled.json() == {"bookmarks": modified}
    # Firefox's next poll: nothing changed since.
    assert firefox.request("GET", "/info/collections", headers={
        "X-If-Modified-Since": f"{modified:.2f}"}).status == 304


# Hawk checks need no database: these two run on SQLite only.

def test_replays_skew_uid_and_expiry(sqlite_url, serve, signing_key):
    server = serve(sqlite_url)
    firefox = Firefox(server, signing_key)
    assert firefox.exchange().status == 200
    url = firefox.endpoint + "/info/collections"

    # The same signed request twice: the nonce was already used.
    authorization = firefox.sign("GET", url)
    assert firefox.send("GET", url, authorization).status == 200
    assert_unauthorized(firefox.send("GET", url, authorization))

    # A clock two days off gets a 401 with the server's time, and a request
    # signed with that time goes through.
    skewed = firefox.request("GET", "/info/collections",
                             params={"ts": str(int(time.time()) - 2 * 86400)})
    assert_unauthorized(skewed)
    server_time = int(float(skewed.headers["X-Weave-Timestamp"]))
    assert firefox.request("GET", "/info/collections",
                           params={"ts": str(server_time)}).status == 200

    # The token's uid must be the uid of the URL.
    other = f"{server.base_url}/1.5/{firefox.credentials['uid'] + 1}/info/collections"
    assert_unauthorized(firefox.send("GET", other, firefox.sign("GET", other)))

    # A token that just expired still polls info/collections (grace window)...
    assert firefox.exchange("?duration=1").json()["duration"] == 1
    expires = tokenlib.parse_token(firefox.credentials["id"], secret=INI_SECRET,
                                   now=0)["expires"]
    while time.time() < expires + 0.05:
        time.sleep(0.05)
    assert firefox.request("GET", "/info/collections").status == 200
    assert_unauthorized(firefox.request("GET", "/storage/bookmarks"))
    assert_unauthorized(firefox.request("GET", "/info/quota"))
    assert_unauthorized(firefox.request("PUT", "/storage/bookmarks/a", {"payload": "x"}))
    # ...but not once the window (two hours) is over.
    token, key = tokenlib_token(INI_SECRET, firefox.credentials["uid"], f"{server.base_url}/",
                                time.time() - 3 * 3600)
    assert_unauthorized(firefox.request("GET", "/info/collections", token=token, key=key))


def test_master_secret_from_the_environment_with_rotation(sqlite_url, serve, signing_key):
    server = serve(sqlite_url, env={"SYNC_MASTER_SECRET": "live-new-secret live-old-secret"})
    firefox = Firefox(server, signing_key)
    assert firefox.exchange().status == 200
    uid, node = firefox.credentials["uid"], f"{server.base_url}/"

    # The token server signs with the first secret of the environment, not the ini's.
    assert tokenlib.parse_token(firefox.credentials["id"], secret="live-new-secret")["uid"] \
        == uid
    with pytest.raises(ValueError):
        tokenlib.parse_token(firefox.credentials["id"], secret=INI_SECRET)
    assert firefox.request("GET", "/info/collections").status == 200

    # A token signed before the rotation, with the old secret, still works.
    token, key = tokenlib_token("live-old-secret", uid, node, time.time() + 600)
    assert firefox.request("PUT", "/storage/tabs/t", {"payload": "x"},
                           token=token, key=key).status == 200
    assert firefox.request("GET", "/info/collections").json().keys() == {"tabs"}
    # The ini's secret is overridden: its tokens are refused.
    token, key = tokenlib_token(INI_SECRET, uid, node, time.time() + 600)
    assert_unauthorized(firefox.request("GET", "/info/collections", token=token, key=key))
