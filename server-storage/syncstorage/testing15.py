"""Test support for Storage 1.5: real tokens and real Hawk signatures.

``HawkClient`` mints a token exactly as a token server does (tokenlib with
the master secret), derives its Hawk key, and signs every request with
hawkauthlib before handing it to a webtest app, so tests exercise the same
verification path as Firefox.
"""
from __future__ import annotations

import json
import time
from typing import Any

import hawkauthlib
import tokenlib
from webtest import TestApp, TestRequest, TestResponse

TEST_SECRET = "storage15-test-master-secret"
TEST_NODE = "http://localhost"


def make_token(uid: int, *, secret: str = TEST_SECRET, node: str = TEST_NODE,
               expires: float | None = None, **claims: Any) -> tuple[str, str]:
    """A token-server token for ``uid`` and its Hawk key."""
    data = {"uid": uid, "node": node,
            "expires": time.time() + 3600 if expires is None else expires,
            "fxa_uid": "6d940dd41e636cc156074109b8092f96",
            "fxa_kid": "1700000000000-Yw3NKWbEM2aRElRIu7JbTw", **claims}
    token = tokenlib.make_token(data, secret=secret)
    return token, tokenlib.get_derived_secret(token, secret=secret)


class HawkClient:
    """Hawk-signed requests to ``/1.5/{uid}`` of a webtest app."""

    def __init__(self, app: TestApp, uid: int, *, token: str | None = None,
                 key: str | None = None, **token_options: Any):
        self.app = app
        self.uid = uid
        if token is None:
            token, key = make_token(uid, **token_options)
        self.token, self.key = token, key
        self.base = f"/1.5/{uid}"

    def request(self, method: str, path: str = "", *, body: bytes | str | None = None,
                json_body: Any = None, content_type: str | None = None,
                headers: dict[str, str] | None = None, status: int | str | None = None,
                hawk_params: dict[str, str] | None = None, sign: bool = True,
                url: str | None = None) -> TestResponse:
        """Send one request; ``status`` as in webtest (None: 2xx/3xx expected)."""
        request = TestRequest.blank(url or self.base + path, method=method)
        for name, value in (headers or {}).items():
            request.headers[name] = value
        if json_body is not None:
            body = json.dumps(json_body)
            content_type = content_type or "application/json"
        if body is not None:
            request.body = body.encode("utf-8") if isinstance(body, str) else body
        if content_type is not None:
            request.content_type = content_type
        if sign:
            hawkauthlib.sign_request(request, self.token, self.key,
                                     params=dict(hawk_params) if hawk_params else None)
        return self.app.do_request(request, status=status,
                                   expect_errors=status is not None)

    def get(self, path: str = "", **kwargs: Any) -> TestResponse:
        return self.request("GET", path, **kwargs)

    def put(self, path: str, json_body: Any = None, **kwargs: Any) -> TestResponse:
        return self.request("PUT", path, json_body=json_body, **kwargs)

    def post(self, path: str, json_body: Any = None, **kwargs: Any) -> TestResponse:
        return self.request("POST", path, json_body=json_body, **kwargs)

    def delete(self, path: str = "", **kwargs: Any) -> TestResponse:
        return self.request("DELETE", path, **kwargs)
