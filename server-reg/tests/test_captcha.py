"""Captcha (User API 1.0 §6, US-PUT7, US-PR4, US-PRD2, US-CAP) against a real
verification service on a loopback port."""
from __future__ import annotations

import json

import pytest

from synccore.settings import ConfigurationError
from synccore.testing import basic_auth, make_settings, make_test_app
from syncreg.testing import (
    CAPTCHA_GOOD_TOKEN,
    CAPTCHA_SECRET_KEY,
    CaptchaSiteVerify,
    free_port,
)

PASSWORD = "first password"
SECRET_KEY = CAPTCHA_SECRET_KEY
GOOD = CAPTCHA_GOOD_TOKEN


@pytest.fixture
def verify_service():
    with CaptchaSiteVerify() as service:
        yield service


def captcha_settings(verify_url: str, **overrides: str) -> dict[str, str]:
    return {"captcha.use": "true", "captcha.site_key": "public-site-key",
            "captcha.secret_key": SECRET_KEY, "captcha.verify_url": verify_url,
            "auth.strict_usernames": "false", **overrides}


@pytest.fixture
def captcha_app(database_url, smtp_server, verify_service):
    return make_test_app(make_settings(database_url, **smtp_server.settings(),
                                       **captcha_settings(verify_service.url,
                                                          **{"reg.shared_secret": "s3cret"})))


def put(app, username: str, password: str = PASSWORD, headers=None, environ=None, **fields):
    body = {"email": "a@example.com", "password": password, **fields}
    return app.put(f"/user/1.0/{username}", json.dumps(body), headers=headers or {},
                   extra_environ=environ or {}, status="*")


def test_creation_needs_a_solved_captcha(captcha_app, verify_service):
    """US-PUT7: missing or wrong captcha is code 2; a good one creates the account."""
    assert put(captcha_app, "alice").body == b"2"
    assert put(captcha_app, "alice", **{"captcha-challenge": "c",
                                        "captcha-response": "wrong"}).body == b"2"
    assert put(captcha_app, "alice", **{"captcha-response": 42}).body == b"2"
    response = put(captcha_app, "alice", environ={"REMOTE_ADDR": "192.0.2.7"},
                   **{"captcha-challenge": "c", "captcha-response": GOOD})
    assert response.text == "alice"
    assert verify_service.requests[-1] == {"secret": SECRET_KEY, "response": GOOD,
                                           "remoteip": "192.0.2.7"}


def test_shared_secret_skips_only_the_captcha(captcha_app):
    """US-PUT7: the right X-Weave-Secret skips the captcha, never the other checks."""
    assert put(captcha_app, "alice", headers={"X-Weave-Secret": "wrong"}).body == b"2"
    assert put(captcha_app, "alice", password="short",
               headers={"X-Weave-Secret": "s3cret"}).body == b"9"
    assert put(captcha_app, "alice", headers={"X-Weave-Secret": "s3cret"}).text == "alice"


def test_secret_header_is_ignored_when_none_is_configured(database_url, verify_service):
    app = make_test_app(make_settings(database_url, **captcha_settings(verify_service.url)))
    assert put(app, "alice", headers={"X-Weave-Secret": ""}).body == b"2"


def test_reset_request_checks_the_captcha_after_the_account(captcha_app, smtp_server):
    """US-PR order: user (3), e-mail (12), then captcha (2); no secret bypass."""
    put(captcha_app, "alice", headers={"X-Weave-Secret": "s3cret"})
    assert captcha_app.get("/user/1.0/nobody/password_reset", status=400).body == b"3"
    assert captcha_app.get("/user/1.0/alice/password_reset", status=400,
                           headers={"X-Weave-Secret": "s3cret"}).body == b"2"
    assert smtp_server.messages == []
    captcha_app.get("/user/1.0/alice/password_reset",
                    params={"captcha-challenge": "c", "captcha-response": GOOD})
    assert len(smtp_server.messages) == 1


def test_reset_cancel_checks_the_captcha(captcha_app):
    """US-PRD2."""
    put(captcha_app, "alice", headers={"X-Weave-Secret": "s3cret"})
    auth = basic_auth("alice", PASSWORD)
    assert captcha_app.delete("/user/1.0/alice/password_reset", headers=auth,
                              status=400).body == b"2"
    assert captcha_app.delete("/user/1.0/alice/password_reset?captcha-response=" + GOOD,
                              headers=auth).text == "success"


def test_captcha_page(captcha_app):
    """US-CAP2: one form posting back to the page, holding the widget."""
    for method, path in (("GET", "/misc/1.0/captcha_html"), ("POST", "/misc/1/captcha_html")):
        response = captcha_app.request(path, method=method)
        assert response.content_type == "text/html"
        assert response.text.count("<form") == 1
        assert f'action="http://localhost{path}"' in response.text
        assert 'data-sitekey="public-site-key"' in response.text


def test_verification_service_down_is_503(database_url):
    """US-R7: the verifier is a backend; its failure is a 503, never a pass."""
    app = make_test_app(make_settings(database_url, **captcha_settings(
        f"http://127.0.0.1:{free_port()}/siteverify", **{"captcha.timeout_seconds": "5"})))
    response = put(app, "alice", **{"captcha-response": GOOD})
    assert response.status_int == 503
    assert app.get("/user/1.0/alice").text == "0"


def test_captcha_needs_keys(database_url):
    with pytest.raises(ConfigurationError):
        make_test_app(make_settings(database_url, **{"captcha.use": "true"}))
