"""Whatever a client sends in the token headers ends in a protocol answer,
never in an unexpected exception (which would be a 500)."""
from __future__ import annotations

import base64
import json

import jwt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncreg.tokenserver.errors import TokenServerError
from syncreg.tokenserver.keyid import check_client_state_header, parse_key_id
from syncreg.tokenserver.oauth import ChainedVerifier, OAuthError
from syncreg.tokenserver.oauth.keys import TrustedKeys
from syncreg.tokenserver.oauth.local import JWTVerifier
from syncreg.tokenserver.testing import SigningKey
from syncreg.tokenserver.views import bearer_token

KEY = SigningKey("fuzz")
VERIFIER = ChainedVerifier([JWTVerifier(TrustedKeys([KEY.public_jwk()]))])


def b64(value: object) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=5), children, max_size=3), max_leaves=8)
headers = st.fixed_dictionaries({}, optional={
    "alg": st.sampled_from(["RS256", "HS256", "none"]) | json_values,
    "typ": st.sampled_from(["at+jwt", "JWT"]) | json_values,
    "kid": json_values})
claims = st.fixed_dictionaries({}, optional={
    "sub": st.text() | json_values, "scope": st.text() | json_values,
    "exp": st.integers() | json_values, "iat": json_values, "nbf": json_values,
    "iss": json_values, "fxa-generation": json_values})


@settings(max_examples=100, deadline=None)
@given(st.text())
def test_any_text_as_bearer_token(token):
    with pytest.raises(OAuthError):
        VERIFIER.verify(token)


@settings(max_examples=100, deadline=None)
@given(headers, claims, st.binary(max_size=64))
def test_structured_garbage_jwts(header, payload, signature):
    with pytest.raises(OAuthError):
        VERIFIER.verify(f"{b64(header)}.{b64(payload)}.{b64(signature)}")


@settings(max_examples=50, deadline=None)
@given(claims)
def test_validly_signed_tokens_with_odd_claims(payload):
    token = jwt.PyJWS().encode(json.dumps(payload).encode(), KEY.private_key,
                               algorithm="RS256", headers={"typ": "at+jwt", "kid": KEY.kid})
    try:
        identity = VERIFIER.verify(token)
    except OAuthError:
        return
    assert isinstance(identity.fxa_uid, str) and identity.fxa_uid
    assert isinstance(identity.generation, int)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.none(), st.text()), st.one_of(st.none(), st.text()),
       st.one_of(st.none(), st.text()))
def test_any_header_values(authorization, key_id, client_state):
    try:
        check_client_state_header(client_state)
        bearer_token(authorization)
        state = parse_key_id(key_id, client_state)
    except TokenServerError as exc:
        assert exc.http_status in (400, 401)
        return
    assert 1 <= len(state.client_state) <= 32 and state.keys_changed_at >= 0
