"""Offline verification of JWT access tokens against trusted JWKs (tokenserver-1.0 §3.1)."""
from __future__ import annotations

import base64
import json
import time

import jwt
import pytest

from synccore.settings import ConfigurationError
from synccore.testing import make_settings, make_test_app
from syncreg.tokenserver.oauth import InvalidTokenError, UnverifiableTokenError
from syncreg.tokenserver.oauth.keys import TrustedKeys
from syncreg.tokenserver.oauth.local import JWTVerifier
from syncreg.tokenserver.testing import OLDSYNC, OAuthServer, SigningKey


@pytest.fixture(scope="module")
def other_key() -> SigningKey:
    return SigningKey("other")


def refused(response, status: str = "invalid-credentials") -> None:
    assert response.status_int == 401
    assert response.json == {"status": status, "errors": [
        {"location": "body", "name": "", "description": "Unauthorized"}]}


def app_with(database_url, **settings):
    return make_test_app(make_settings(database_url, master_secret="s", **{
        "tokenserver.oauth_server_url": "", **settings}))


def ask(app, bearer: str, status: int = 200):
    return app.get("/1.0/sync/1.5", headers={"Authorization": f"Bearer {bearer}",
                                             "X-KeyID": "1-qqo"}, status=status)


def test_expired_token(signing_key, get_token, fxa_uid):
    expired = signing_key.access_token(fxa_uid, now=time.time() - 7200, lifetime_seconds=3600)
    refused(get_token(expired, status=401))


def test_expiry_has_a_small_leeway(signing_key, get_token, fxa_uid):
    get_token(signing_key.access_token(fxa_uid, now=time.time() - 3630, lifetime_seconds=3600))


def test_issued_in_the_future(signing_key, get_token, fxa_uid):
    refused(get_token(signing_key.access_token(fxa_uid, now=time.time() + 3600), status=401))


def test_token_without_expiry(signing_key, get_token, fxa_uid):
    refused(get_token(signing_key.access_token(fxa_uid, exp=None), status=401))


@pytest.mark.parametrize("typ", ["JWT", "", "at+jwt+x"])
def test_wrong_token_type(signing_key, get_token, fxa_uid, typ):
    refused(get_token(signing_key.access_token(fxa_uid, typ=typ), status=401))


@pytest.mark.parametrize("typ", ["AT+JWT", "application/at+jwt"])
def test_token_type_variants(signing_key, get_token, fxa_uid, typ):
    get_token(signing_key.access_token(fxa_uid, typ=typ))


def test_untrusted_key(other_key, get_token, fxa_uid):
    refused(get_token(other_key.access_token(fxa_uid), status=401))


def test_tampered_payload(signing_key, get_token, fxa_uid):
    header, payload, signature = signing_key.access_token(fxa_uid).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["sub"] = "0" * 32
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    refused(get_token(f"{header}.{forged}.{signature}", status=401))


def test_symmetric_algorithm_is_refused(signing_key, get_token, fxa_uid):
    # Only RS256 is accepted, whatever key an HMAC signature would use.
    forged = jwt.encode({"sub": fxa_uid, "scope": OLDSYNC, "exp": int(time.time()) + 60},
                        "s" * 32, algorithm="HS256", headers={"typ": "at+jwt"})
    refused(get_token(forged, status=401))


def test_not_a_jwt_without_remote_verifier(get_token):
    refused(get_token("not-a-jwt", status=401))


def test_scope_without_oldsync(signing_key, get_token, fxa_uid):
    refused(get_token(signing_key.access_token(fxa_uid, scope="profile"), status=401))
    refused(get_token(signing_key.access_token(fxa_uid, scope=OLDSYNC + "x"), status=401))


@pytest.mark.parametrize("scope", [f"profile {OLDSYNC}", f"profile,{OLDSYNC}",
                                   ["profile", OLDSYNC]])
def test_scope_separators(signing_key, get_token, fxa_uid, scope):
    get_token(signing_key.access_token(fxa_uid, scope=scope))


def test_generation_not_an_integer(signing_key, get_token, fxa_uid):
    refused(get_token(signing_key.access_token(fxa_uid, **{"fxa-generation": "12"}),
                      status=401), "invalid-generation")


@pytest.mark.parametrize("subject", [None, "", "not/an/fxa/uid", "x" * 65])
def test_bad_subject(signing_key, get_token, subject):
    refused(get_token(signing_key.access_token(subject), status=401))


def test_audience_is_not_checked(signing_key, get_token, fxa_uid):
    get_token(signing_key.access_token(fxa_uid, aud="some-other-client"))


def test_key_rotation(database_url, signing_key, other_key, fxa_uid):
    both = json.dumps({"keys": [signing_key.public_jwk(), other_key.public_jwk()]})
    app = app_with(database_url, **{"tokenserver.jwks": both})
    ask(app, signing_key.access_token(fxa_uid))
    ask(app, other_key.access_token(fxa_uid))
    # A kid naming no key still tries every trusted key.
    ask(app, jwt.encode(jwt.decode(other_key.access_token(fxa_uid),
                                   options={"verify_signature": False}),
                        other_key.private_key, algorithm="RS256",
                        headers={"typ": "at+jwt", "kid": "unknown"}))


def test_accepted_issuers(database_url, signing_key, fxa_uid):
    app = app_with(database_url, **{"tokenserver.jwks": signing_key.jwks_json(),
                                    "tokenserver.accepted_issuers":
                                        "https://accounts.example.test, https://b.test"})
    ask(app, signing_key.access_token(fxa_uid))
    refused(ask(app, signing_key.access_token(fxa_uid, issuer="https://evil.test"), 401))
    refused(ask(app, signing_key.access_token(fxa_uid, iss=None), 401))


def test_jwks_from_a_file(database_url, signing_key, fxa_uid, tmp_path):
    path = tmp_path / "jwks.json"
    path.write_text(signing_key.jwks_json())
    ask(app_with(database_url, **{"tokenserver.jwks": str(path)}),
        signing_key.access_token(fxa_uid))


def test_single_jwk_and_private_jwk(database_url, signing_key, fxa_uid):
    private = jwt.algorithms.RSAAlgorithm.to_jwk(signing_key.private_key, as_dict=True)
    app = app_with(database_url, **{"tokenserver.jwks": json.dumps(private)})
    assert "d" not in app.app.registry.tokenserver.trusted_keys.jwks()[0]
    ask(app, signing_key.access_token(fxa_uid))


@pytest.mark.parametrize("value", ["/no/such/jwks.json", "{not json", '{"keys": {}}',
                                   '{"kty": "EC", "crv": "P-256", "x": "a", "y": "b"}',
                                   '{"kty": "RSA", "n": "AQAB"}'])
def test_bad_jwks_setting_fails_at_start(database_url, value):
    with pytest.raises(ConfigurationError, match=r"tokenserver\.jwks"):
        app_with(database_url, **{"tokenserver.jwks": value})


def test_bad_verifier_setting_fails_at_start(database_url):
    with pytest.raises(ConfigurationError, match="oauth_verifier"):
        app_with(database_url, **{"tokenserver.oauth_verifier": "magic"})
    with pytest.raises(ConfigurationError, match="oauth_verifier"):
        app_with(database_url, **{"tokenserver.oauth_verifier": "remote"})


def test_keys_added_by_another_component(database_url, signing_key, fxa_uid):
    app = app_with(database_url)
    bearer = signing_key.access_token(fxa_uid)
    refused(ask(app, bearer, 401))
    app.app.registry.tokenserver.trusted_keys.add(signing_key.public_jwk())
    ask(app, bearer)


def test_keys_fetched_from_the_oauth_server(database_url, signing_key, other_key, fxa_uid):
    with OAuthServer() as server:
        server.jwks = [signing_key.public_jwk()]
        app = app_with(database_url, **{"tokenserver.oauth_verifier": "local",
                                        "tokenserver.oauth_server_url": server.url})
        ask(app, signing_key.access_token(fxa_uid))
        ask(app, signing_key.access_token(fxa_uid))
        refused(ask(app, other_key.access_token(fxa_uid), 401))
        assert server.jwks_requests == 1  # cached


def unavailable(response) -> None:
    """§3.2: the accounts service out of reach → 503 + Retry-After, not 401."""
    assert response.status_int == 503
    assert response.headers["Retry-After"].isdigit()
    assert response.json == {"status": "error", "errors": [
        {"location": "body", "name": "", "description": "Resource is not available"}]}


def test_unreachable_key_set_with_local_verifier(database_url, signing_key, fxa_uid):
    with OAuthServer() as server:
        url = server.url
    app = app_with(database_url, **{"tokenserver.oauth_verifier": "local",
                                    "tokenserver.oauth_server_url": url})
    unavailable(ask(app, signing_key.access_token(fxa_uid), 503))


def test_key_set_fetched_once_survives_an_outage(database_url, signing_key, fxa_uid):
    with OAuthServer() as server:
        server.jwks = [signing_key.public_jwk()]
        app = app_with(database_url, **{"tokenserver.oauth_verifier": "local",
                                        "tokenserver.oauth_server_url": server.url,
                                        "tokenserver.jwks_cache_seconds": "0"})
        ask(app, signing_key.access_token(fxa_uid))
    # The OAuth server is gone; the keys fetched before still verify.
    ask(app, signing_key.access_token(fxa_uid))


def test_unreachable_key_set_next_to_added_keys(database_url, signing_key, other_key,
                                                fxa_uid):
    """A bundled service's own key still works while the published set is out of
    reach; a token naming another key cannot be judged → 503."""
    with OAuthServer() as server:
        url = server.url
    app = app_with(database_url, **{"tokenserver.oauth_verifier": "local",
                                    "tokenserver.oauth_server_url": url})
    app.app.registry.tokenserver.trusted_keys.add(other_key.public_jwk())
    ask(app, other_key.access_token(fxa_uid))
    unavailable(ask(app, signing_key.access_token(fxa_uid), 503))


@pytest.mark.parametrize("algorithm", ["RS384", "RS512", "PS256"])
def test_only_rs256(signing_key, get_token, fxa_uid, algorithm):
    """§3.1: RS256 only, even when the trusted key made the signature."""
    now = int(time.time())
    token = jwt.encode({"sub": fxa_uid, "scope": OLDSYNC, "iat": now, "exp": now + 600},
                       signing_key.private_key, algorithm=algorithm,
                       headers={"typ": "at+jwt", "kid": signing_key.kid})
    refused(get_token(token, status=401))


def test_token_without_type(signing_key, get_token, fxa_uid):
    """§3.1: a JOSE header without ``typ`` is not an access token."""
    token = signing_key.access_token(fxa_uid, typ=None)
    assert "typ" not in jwt.get_unverified_header(token)
    refused(get_token(token, status=401))


# -- the verifier on its own -----------------------------------------------------

def test_verifier_reports_identity(signing_key):
    verifier = JWTVerifier(TrustedKeys([signing_key.public_jwk()]))
    identity = verifier.verify(signing_key.access_token("ab" * 16, generation=77,
                                                        scope=f"profile {OLDSYNC}"))
    assert (identity.fxa_uid, identity.generation, identity.scopes, identity.client_id,
            identity.issuer) == ("ab" * 16, 77, frozenset({"profile", OLDSYNC}),
                                 "sync-client", "https://accounts.example.test")


def test_verifier_defers_what_it_cannot_judge(signing_key):
    with pytest.raises(UnverifiableTokenError):
        JWTVerifier(TrustedKeys([signing_key.public_jwk()])).verify("opaque-token")
    with pytest.raises(UnverifiableTokenError):
        JWTVerifier(TrustedKeys()).verify(signing_key.access_token("ab" * 16))
    with pytest.raises(InvalidTokenError):
        JWTVerifier(TrustedKeys([signing_key.public_jwk()])).verify(
            signing_key.access_token("ab" * 16, typ="JWT"))


def test_trusted_keys_refuse_unusable_keys():
    keys = TrustedKeys()
    for jwk in ({"kty": "oct", "k": "c2VjcmV0"}, {"kty": "RSA", "n": "x", "e": "AQAB",
                                                  "use": "enc"}, "not a dict"):
        with pytest.raises(ValueError):
            keys.add(jwk)
    assert keys.jwks() == []
