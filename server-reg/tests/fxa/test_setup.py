"""Discovery, pages, settings, the signing key, and the token server's trust:
our own accounts and Mozilla's side by side (accounts-firefox.md §1, §2)."""
from __future__ import annotations

import os
import stat

import pytest

from synccore.settings import ConfigurationError
from synccore.testing import make_settings, make_test_app
from syncreg.fxa.oauth import OLDSYNC
from syncreg.fxa.testing import AccountsClient
from syncreg.tokenserver.testing import OAuthServer, SigningKey

EMAIL = "alice@example.com"
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def page_app(tmp_path_factory):
    """For what does not depend on the database engine: SQLite only, built once."""
    return accounts_app(f"sqlite:///{tmp_path_factory.mktemp('pages') / 'sync.db'}",
                        **{"server.public_url": "http://localhost/"})


@pytest.fixture
def sqlite_db(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'sync.db'}"


def accounts_app(database_url, **settings):
    return make_test_app(make_settings(database_url, **{
        "accounts.enabled": "true", "accounts.require_email_verification": "false",
        "master_secret": "s", "tokenserver.oauth_server_url": "", **settings}))


def test_discovery_points_everything_at_the_public_url(page_app):
    response = page_app.get("/.well-known/fxa-client-configuration")
    assert response.json == {
        "auth_server_base_url": "http://localhost",
        "oauth_server_base_url": "http://localhost",
        "profile_server_base_url": "http://localhost",
        "sync_tokenserver_base_url": "http://localhost",
    }


def test_discovery_follows_a_public_url_with_a_path(sqlite_db):
    app = accounts_app(sqlite_db, **{"server.public_url": "https://example.com/sync/"})
    assert app.get("/.well-known/fxa-client-configuration").json[
        "auth_server_base_url"] == "https://example.com/sync"
    assert 'data-base="/sync/"' in app.get("/").text


@pytest.mark.parametrize("path", ["/", "/signin", "/settings", "/settings/clients",
                                  "/reset_password", "/oauth/success/5882386c6d801776"])
def test_pages_are_locked_down_and_share_the_account_pages_look(page_app, path):
    page = page_app.get(path + "?context=oauth_webchannel_v1&email=a%40b.example")
    assert page.content_type == "text/html"
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert page.headers["Cache-Control"] == "no-store"
    assert "/media/site.css" in page.text
    if path != "/oauth/success/5882386c6d801776":
        assert "/accounts-media/accounts.js" in page.text
        assert "<script>" not in page.text  # no inline script: the policy forbids it


def test_the_script_is_served(page_app):
    script = page_app.get("/accounts-media/accounts.js")
    assert script.content_type in ("application/javascript", "text/javascript")
    assert b"WebChannelMessageToChrome" in script.body


def test_reflected_values_are_escaped(page_app):
    page = page_app.get("/settings", {"email": '"><script>alert(1)</script>'})
    assert "<script>alert(1)" not in page.text


def test_off_unless_enabled(sqlite_db):
    app = make_test_app(make_settings(sqlite_db, master_secret="s"))
    app.get("/.well-known/fxa-client-configuration", status=404)
    app.post("/v1/account/create", "{}", status=404)
    assert not hasattr(app.app.registry, "accounts")


@pytest.mark.parametrize("settings, message", [
    ({"mail.smtp_host": ""}, "require_email_verification"),
    ({"accounts.access_token_seconds": "0"}, "access_token_seconds"),
    ({"tokenserver.accepted_issuers": "https://accounts.firefox.com"}, "accepted_issuers"),
])
def test_conflicting_settings_fail_at_start(sqlite_db, settings, message):
    with pytest.raises(ConfigurationError, match=message):
        make_test_app(make_settings(sqlite_db, **{
            "accounts.enabled": "true", "master_secret": "s", **settings}))


def test_the_key_is_made_once_and_shared_through_the_database(database_url):
    """Two processes on one database: tokens from one pass the other's token server."""
    first, second = accounts_app(database_url), accounts_app(database_url)
    signed_in = AccountsClient(first).sign_up(EMAIL, PASSWORD)
    tokens, keys = AccountsClient(first).connect_firefox(signed_in)
    assert first.get("/v1/jwks").json == second.get("/v1/jwks").json
    second.get("/1.0/sync/1.5", headers={"Authorization": f"Bearer {tokens['access_token']}",
                                         "X-KeyID": keys[OLDSYNC]["kid"]})


def test_the_key_can_live_in_a_file(sqlite_db, tmp_path):
    path = tmp_path / "signing.pem"
    app = accounts_app(sqlite_db, **{"accounts.signing_key_file": str(path)})
    published = app.get("/v1/jwks").json
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert path.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    again = accounts_app(sqlite_db, **{"accounts.signing_key_file": str(path)})
    assert again.get("/v1/jwks").json == published


def test_building_the_app_does_not_touch_the_tables():
    """``sync-admin db upgrade`` builds the application before the tables exist."""
    app = accounts_app("sqlite:////nonexistent/dir/x.db", **{"db.auto_migrate": "false"})
    assert app.app.registry.signing_keys.loaded is False


def test_mozilla_accounts_keep_working_next_to_ours(database_url):
    """With an OAuth server configured, its keys are fetched for its tokens while
    ours are checked without asking it."""
    mozilla = SigningKey("mozilla")
    with OAuthServer() as oauth_server:
        oauth_server.jwks = [mozilla.public_jwk()]
        app = accounts_app(database_url, **{"tokenserver.oauth_server_url": oauth_server.url,
                                            "tokenserver.oauth_verifier": "local"})
        signed_in = AccountsClient(app).sign_up(EMAIL, PASSWORD)
        tokens, keys = AccountsClient(app).connect_firefox(signed_in)
        app.get("/1.0/sync/1.5", headers={"Authorization": f"Bearer {tokens['access_token']}",
                                          "X-KeyID": keys[OLDSYNC]["kid"]})
        assert oauth_server.jwks_requests == 0
        theirs = mozilla.access_token("ab" * 16, generation=1234)
        app.get("/1.0/sync/1.5", headers={"Authorization": f"Bearer {theirs}",
                                          "X-KeyID": "1234-qqo"})
        assert oauth_server.jwks_requests == 1


def test_without_an_oauth_server_only_our_accounts_sync(fxa_app):
    stranger = SigningKey("stranger").access_token("ab" * 16)
    refused = fxa_app.get("/1.0/sync/1.5", headers={"Authorization": f"Bearer {stranger}",
                                                    "X-KeyID": "1234-qqo"}, status=401)
    assert refused.json["status"] == "invalid-credentials"


def test_deleting_an_account_retires_it_at_the_token_server(client, fxa_app):
    signed_in = client.sign_up(EMAIL, PASSWORD)
    tokens, keys = client.connect_firefox(signed_in)
    headers = {"Authorization": f"Bearer {tokens['access_token']}",
               "X-KeyID": keys[OLDSYNC]["kid"]}
    fxa_app.get("/1.0/sync/1.5", headers=headers)
    client.post("/v1/account/destroy", {"email": EMAIL,
                                        "authPW": signed_in.keys.auth_pw.hex()})
    # The access token is still well signed, but the account is retired.
    assert fxa_app.get("/1.0/sync/1.5", headers=headers,
                       status=401).json["status"] == "invalid-generation"
