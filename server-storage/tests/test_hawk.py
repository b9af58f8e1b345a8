"""Token verification and Hawk request signing against the published test
vectors (tokenserver-1.0 §7.2, §8) and the public libraries."""
from __future__ import annotations

import base64
import hashlib
import hmac
from collections import OrderedDict

import hawkauthlib
import pytest
import tokenlib
from webob import Request

from syncstorage.hawk import (
    HawkAuthenticator,
    HawkPolicy,
    InvalidTokenError,
    NonceCache,
    TokenVerifier,
    host_candidates,
    normalized_request_string,
    same_node,
)

SECRET = "example-master-secret"
TOKEN_DATA = OrderedDict([
    ("uid", 42), ("node", "https://sync.example.com"), ("expires", 1700003600),
    ("fxa_uid", "6d940dd41e636cc156074109b8092f96"),
    ("fxa_kid", "1700000000000-Yw3NKWbEM2aRElRIu7JbTw"),
    ("hashed_fxa_uid", "c0e0d0d186810ad2f8446a471166b220"),
    ("hashed_device_id", "f77315e2757cb823f70f7c703110817e"), ("salt", "a1b2c3")])
TOKEN_ID = (
    "eyJ1aWQiOiA0MiwgIm5vZGUiOiAiaHR0cHM6Ly9zeW5jLmV4YW1wbGUuY29tIiwgImV4cGlyZXMiOiAxNzAwMDAz"
    "NjAwLCAiZnhhX3VpZCI6ICI2ZDk0MGRkNDFlNjM2Y2MxNTYwNzQxMDliODA5MmY5NiIsICJmeGFfa2lkIjogIjE3"
    "MDAwMDAwMDAwMDAtWXczTktXYkVNMmFSRWxSSXU3SmJUdyIsICJoYXNoZWRfZnhhX3VpZCI6ICJjMGUwZDBkMTg2"
    "ODEwYWQyZjg0NDZhNDcxMTY2YjIyMCIsICJoYXNoZWRfZGV2aWNlX2lkIjogImY3NzMxNWUyNzU3Y2I4MjNmNzBm"
    "N2M3MDMxMTA4MTdlIiwgInNhbHQiOiAiYTFiMmMzIn0DHYDMsyjHwhvS8sowsbJjOIByqfctna2TpNJZHlWGVA==")
TOKEN_KEY = "VRqxMFMrXltxlIoOyxqGpBJhG87Gj4AKfpVADkhT0ZA="
VECTOR_MAC = "R/vvoBep8Ge3ELzvFFh2NpUhx/q5noKBzI0LWJmwNl8="


def vector_request() -> Request:
    request = Request.blank("https://sync.example.com/1.5/42/info/collections?v=1")
    request.headers["Host"] = "sync.example.com"
    request.headers["Authorization"] = (
        f'Hawk ts="1700000000", nonce="Y2FmZWJhYmU=", id="{TOKEN_ID}", mac="{VECTOR_MAC}"')
    return request


def authenticator(secrets=(SECRET,), now: float = 1700000000.0, **policy) -> HawkAuthenticator:
    return HawkAuthenticator(TokenVerifier(list(secrets)), NonceCache(86400, 1000),
                             HawkPolicy(public_url="https://sync.example.com/", **policy),
                             clock=lambda: now)


def test_token_vector():
    """tokenserver §7.2: tokenlib reproduces the id; we parse it and derive its key."""
    assert tokenlib.make_token(TOKEN_DATA, secret=SECRET) == TOKEN_ID
    user, key = TokenVerifier([SECRET]).parse(TOKEN_ID)
    assert key == TOKEN_KEY
    assert (user.userid, user.node, user.expires) == (42, "https://sync.example.com",
                                                      1700003600)
    assert user.fxa_kid == "1700000000000-Yw3NKWbEM2aRElRIu7JbTw"
    assert user.hashed_device_id == "f77315e2757cb823f70f7c703110817e"


def test_rotation_tries_every_secret():
    user, key = TokenVerifier(["newer-secret", SECRET]).parse(TOKEN_ID)
    assert user.userid == 42 and key == TOKEN_KEY
    with pytest.raises(InvalidTokenError):
        TokenVerifier(["newer-secret"]).parse(TOKEN_ID)
    with pytest.raises(InvalidTokenError):
        TokenVerifier([]).parse(TOKEN_ID)


def test_normalized_string_vector():
    """tokenserver §8: the normalized string and MAC of the GET vector."""
    request = vector_request()
    host, port = host_candidates(request, None)[0]
    text = normalized_request_string(request, {"ts": "1700000000", "nonce": "Y2FmZWJhYmU="},
                                     host, port)
    assert text == ("hawk.1.header\n1700000000\nY2FmZWJhYmU=\nGET\n"
                    "/1.5/42/info/collections?v=1\nsync.example.com\n443\n\n\n")
    mac = base64.b64encode(hmac.new(TOKEN_KEY.encode(), text.encode(),
                                    hashlib.sha256).digest()).decode()
    assert mac == VECTOR_MAC


def test_normalized_string_with_hash_and_ext():
    """tokenserver §8: hash and ext enter the string; the port comes from Host."""
    request = Request.blank("http://localhost:8000/1.5/42/storage/tabs?batch=true",
                            method="POST")
    host, port = host_candidates(request, None)[0]
    text = normalized_request_string(
        request, {"ts": "1700000000", "nonce": "abc", "hash": "Zm9v", "ext": "x"}, host, port)
    assert text == ("hawk.1.header\n1700000000\nabc\nPOST\n/1.5/42/storage/tabs?batch=true\n"
                    "localhost\n8000\nZm9v\nx\n")


def test_vector_request_authenticates():
    user = authenticator().authenticate(vector_request())
    assert user.userid == 42


def test_replay_of_the_vector_request_is_refused():
    verifier = authenticator()
    verifier.authenticate(vector_request())
    with pytest.raises(InvalidTokenError, match="replayed"):
        verifier.authenticate(vector_request())


def test_expiry_and_grace():
    """storage §2 step 6 and §2.2: expires <= now is expired; grace only on request."""
    with pytest.raises(InvalidTokenError, match="expired"):
        authenticator(now=1700003600.0, timestamp_skew_seconds=0) \
            .authenticate(vector_request())
    user = authenticator(now=1700003600.0 + 7199, timestamp_skew_seconds=0) \
        .authenticate(vector_request(), allow_expired=True)
    assert user.userid == 42
    with pytest.raises(InvalidTokenError, match="expired"):
        authenticator(now=1700003600.0 + 7200, timestamp_skew_seconds=0) \
            .authenticate(vector_request(), allow_expired=True)


def test_skew_window():
    with pytest.raises(InvalidTokenError, match="too far"):
        authenticator(now=1700000000.0 - 3600, timestamp_skew_seconds=60) \
            .authenticate(vector_request())
    assert authenticator(now=1700000000.0 - 3600, timestamp_skew_seconds=0) \
        .authenticate(vector_request()).userid == 42


def test_node_check():
    verifier = HawkAuthenticator(TokenVerifier([SECRET]), NonceCache(0, 10),
                                 HawkPolicy(public_url="https://other.example.com/"),
                                 clock=lambda: 1700000000.0)
    with pytest.raises(InvalidTokenError, match="node"):
        verifier.authenticate(vector_request())


@pytest.mark.parametrize(("url", "method"), [
    ("http://localhost/1.5/42/info/collections", "GET"),
    ("http://localhost:8080/1.5/42/storage/c?batch=abc&commit=true", "POST"),
    ("https://sync.example.com/1.5/7/storage/c/a%20b", "PUT"),
    ("https://sync.example.com:4443/1.5/7/storage/c?ids=a,b&full=1", "DELETE"),
])
def test_agreement_with_hawkauthlib(url, method):
    """Requests signed by hawkauthlib (what clients do) verify here."""
    token, key = TOKEN_ID, TOKEN_KEY
    request = Request.blank(url, method=method)
    hawkauthlib.sign_request(request, token, key,
                             params={"ts": "1700000000", "nonce": "bm9uY2U=", "ext": "e"})
    params = hawkauthlib.utils.parse_authz_header(request)
    host, port = host_candidates(request, None)[0]
    assert normalized_request_string(request, params, host, port) == \
        hawkauthlib.utils.get_normalized_request_string(request, params)


def test_raw_request_uri_is_what_gets_signed():
    """storage §2 step 9: the path and query exactly as sent, when the server keeps it."""
    request = Request.blank("http://localhost/1.5/42/storage/c/a~b")
    request.environ["REQUEST_URI"] = "/1.5/42/storage/c/a%7Eb?x=%2F"
    text = normalized_request_string(request, {"ts": "1", "nonce": "n"}, "localhost", "80")
    assert "\n/1.5/42/storage/c/a%7Eb?x=%2F\n" in text


def test_nonce_cache_is_per_token_and_bounded():
    cache = NonceCache(60, 3)
    now = 1700000000
    assert cache.is_fresh("token-a", "n1", now, now)
    assert not cache.is_fresh("token-a", "n1", now, now + 30)
    assert cache.is_fresh("token-b", "n1", now, now)
    for number in range(10):
        assert cache.is_fresh("token-a", f"more-{number}", now, now)
    assert len(cache) == 3


def test_nonce_is_forgotten_once_its_request_would_be_too_old():
    cache = NonceCache(60, 100)
    now = 1700000000
    assert cache.is_fresh("token-a", "n1", now, now)
    # 61 s later the ts check alone refuses the replay, so the entry can go.
    assert cache.is_fresh("token-a", "n1", now, now + 61)
    unlimited = NonceCache(0, 100)
    assert unlimited.is_fresh("token-a", "n1", now, now)
    assert not unlimited.is_fresh("token-a", "n1", now, now + 10**8)


@pytest.mark.parametrize(("token_node", "public_url", "same"), [
    ("https://sync.example.com", "https://sync.example.com/", True),
    ("https://SYNC.example.com:443", "https://sync.example.com", True),
    ("http://localhost:5000", "http://localhost:5000/", True),
    ("https://sync.example.com/storage", "https://sync.example.com/storage/", True),
    ("http://sync.example.com", "https://sync.example.com/", False),
    ("https://sync.example.com:8443", "https://sync.example.com/", False),
    ("https://other.example.com", "https://sync.example.com/", False),
    ("https://sync.example.com/storage", "https://sync.example.com/", False),
    ("https://sync.example.com:notaport", "https://sync.example.com/", False),
])
def test_same_node(token_node, public_url, same):
    assert same_node(token_node, public_url) is same



def test_path_signed_either_raw_or_requoted_verifies():
    """A client signing ``%7E`` as sent, or ``~`` as a URL library re-quotes it, verifies."""
    for signed_path in ("/1.5/42/info/collections?v=%7E", "/1.5/42/info/collections?v=~"):
        request = Request.blank("https://sync.example.com" + signed_path)
        hawkauthlib.sign_request(request, TOKEN_ID, TOKEN_KEY,
                                 params={"ts": "1700000000", "nonce": signed_path})
        request.environ["REQUEST_URI"] = "/1.5/42/info/collections?v=%7E"
        assert authenticator().authenticate(request).userid == 42
