"""Session tokens and their Hawk signatures (accounts-firefox.md §3): we verify
the MAC, the timestamp, the nonce and the payload hash, not just the id."""
from __future__ import annotations

import json
import time

from syncreg.fxa.onepw import token_credentials
from syncreg.fxa.testing import hawk_header

EMAIL = "alice@example.com"
PASSWORD = "correct horse battery"
URL = "http://localhost/v1/session/status"


def errno(response) -> tuple[int, int]:
    return response.status_int, response.json["errno"]


def test_session_status_and_sign_out(client):
    signed_in = client.sign_up(EMAIL, PASSWORD)
    status = client.get("/v1/session/status", session=signed_in.session_token).json
    assert status == {"state": "verified", "uid": signed_in.uid}
    client.post("/v1/session/destroy", session=signed_in.session_token)
    gone = client.get("/v1/session/status", session=signed_in.session_token, status=401)
    assert errno(gone) == (401, 110)


def test_hawk_id_is_the_hkdf_of_the_token(client):
    signed_in = client.sign_up(EMAIL, PASSWORD)
    credentials = token_credentials(signed_in.session_token)
    assert len(credentials.id) == 64 and len(credentials.key) == 32
    assert credentials.id != signed_in.session_token


def test_a_known_id_with_a_wrong_key_is_refused(client, fxa_app):
    signed_in = client.sign_up(EMAIL, PASSWORD)
    real = hawk_header(signed_in.session_token, "GET", URL)
    forged = real.rsplit('mac="', 1)[0] + 'mac="' + "A" * 43 + '="'
    assert errno(fxa_app.get("/v1/session/status", headers={"Authorization": forged},
                             status=401)) == (401, 109)


def test_the_mac_covers_method_path_and_host(client, fxa_app):
    signed_in = client.sign_up(EMAIL, PASSWORD)
    for method, url in (("POST", URL), ("GET", "http://localhost/v1/account/devices"),
                        ("GET", "http://elsewhere.example/v1/session/status")):
        header = hawk_header(signed_in.session_token, method, url)
        assert errno(fxa_app.get("/v1/session/status", headers={"Authorization": header},
                                 status=401)) == (401, 109)


def test_stale_timestamps_are_refused_with_the_server_time(client, fxa_app):
    signed_in = client.sign_up(EMAIL, PASSWORD)
    header = hawk_header(signed_in.session_token, "GET", URL, ts=int(time.time()) - 3600)
    response = fxa_app.get("/v1/session/status", headers={"Authorization": header},
                           status=401)
    assert errno(response) == (401, 111)
    assert abs(response.json["serverTime"] - time.time()) < 60


def test_a_replayed_request_is_refused(client, fxa_app):
    signed_in = client.sign_up(EMAIL, PASSWORD)
    header = hawk_header(signed_in.session_token, "GET", URL, nonce="fixed-nonce")
    fxa_app.get("/v1/session/status", headers={"Authorization": header})
    again = fxa_app.get("/v1/session/status", headers={"Authorization": header}, status=401)
    assert errno(again) == (401, 115)


def test_a_signed_body_cannot_be_swapped(client, fxa_app):
    signed_in = client.sign_up(EMAIL, PASSWORD)
    signed = json.dumps({"name": "laptop", "type": "desktop"}).encode()
    header = hawk_header(signed_in.session_token, "POST", "http://localhost/v1/account/device",
                         signed)
    swapped = json.dumps({"name": "evil", "type": "desktop"}).encode()
    response = fxa_app.post("/v1/account/device", swapped, status=401, headers={
        "Authorization": header, "Content-Type": "application/json; charset=utf-8"})
    assert errno(response) == (401, 109)
    fxa_app.post("/v1/account/device", signed, headers={
        "Authorization": header, "Content-Type": "application/json; charset=utf-8"})


def test_missing_or_foreign_authorization(fxa_app):
    for headers in ({}, {"Authorization": "Basic YWxpY2U6cGFzcw=="},
                    {"Authorization": 'Hawk id="abc", ts="1", nonce="n", mac="m"'},
                    {"Authorization": 'Hawk id="' + "0" * 64 + '"'}):
        response = fxa_app.get("/v1/session/status", headers=headers, status=401)
        assert response.json["errno"] in (109, 110)
        assert "Retry-After" not in response.headers


def test_the_public_url_host_is_accepted_behind_a_proxy(client, fxa_app):
    """A proxy may rewrite Host; Firefox signed with the public URL's host."""
    signed_in = client.sign_up(EMAIL, PASSWORD)
    header = hawk_header(signed_in.session_token, "GET", URL)
    fxa_app.get("/v1/session/status", headers={"Authorization": header,
                                               "Host": "backend.internal:8000"})
