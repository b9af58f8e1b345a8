"""A stock Firefox signs up on our own accounts pages and syncs through this server.

Debian's ``firefox-esr`` runs headless with two fresh profiles, driven over
Marionette. The only preferences that matter are the ones a user sets:
``identity.fxaccounts.autoconfig.uri`` (and ``allowHttp``, since the test
server is plain http on 127.0.0.1); the token server runs offline
(``tokenserver.oauth_server_url`` empty), so nothing comes from Mozilla.

The first profile signs up (confirming the address with the code mailed to
a local SMTP server), syncs, and gets a bookmark and a saved login; the
records must reach the storage encrypted. The second profile signs in to
the same account - after a wrong password is refused - and must receive
both; signing out and in again must keep the same sync key (``kid``).
Screenshots of the pages (and the profiles' sync logs) are kept in
``test-artifacts/firefox-accounts/<test>/``.

What a real Firefox taught (153.7.0esr):

* The page must speak from the autoconfig origin exactly (127.0.0.1, not
  localhost), or Firefox ignores its WebChannel messages.
* ``Weave.Service.sync()`` returns at once, doing nothing, while another
  sync holds the lock - and signing in starts one - so ``sync_now`` waits for
  the lock first.
* The push service cannot be reached here; Firefox logs "FxAccountsPush
  failed to subscribe" and registers its device without push, which is fine.
* ``can_link_account`` must carry the account's uid: without it, a profile
  that was signed in before (signing out and in again) gets a "merge data?"
  dialog, which blocks a headless browser. The page therefore signs in to
  the server first and asks Firefox second.
* Marionette sees the page's own globals only through
  ``window.wrappedJSObject``.
* When something fails, the sync logs in the profile's ``weave/logs`` tell
  why; they are copied next to the screenshots.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import re
import secrets
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from synccore.testing import require_all_engines
from syncreg.fxa.hawk import payload_hash, request_mac
from syncreg.fxa.onepw import token_credentials
from syncreg.fxa.testing import (
    BrowserKey,
    b64url,
    hawk_header,
    stretch,
    sync_key,
    unb64url,
    xor,
)
from syncreg.testing import SMTPCapture
from syncserver.firefox import By, Firefox, firefox_binary, firefox_version
from syncserver.testing import PasterServer, free_port, http_request, write_ini

pytestmark = pytest.mark.slow

OLDSYNC = "https://identity.mozilla.com/apps/oldsync"
EMAIL = "alice@example.com"
PASSWORD = "correct horse battery staple"
INSTALL_HINT = "Debian: apt-get install firefox-esr"
# Bounded waits for Firefox's own steps (sign-in, scheduled sync); generous
# because the rest of the suite runs beside it on the same cores.
WAIT_SECONDS = 150


@pytest.fixture(scope="module")
def binary() -> str:
    path = firefox_binary()
    if path is None:
        if require_all_engines():
            pytest.fail(f"no Firefox on PATH ({INSTALL_HINT})")
        pytest.skip(f"no Firefox on PATH ({INSTALL_HINT})")
    return path


@pytest.fixture
def artifacts(request) -> Path:
    """This test's own folder (tests may run in parallel processes)."""
    directory = (request.config.rootpath / "test-artifacts" / "firefox-accounts"
                 / request.node.name)
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    return directory


@pytest.fixture(scope="module")
def mail():
    with SMTPCapture() as server:
        yield server


@pytest.fixture(scope="module")
def server(tmp_path_factory, mail, binary):
    directory = tmp_path_factory.mktemp("firefox-accounts")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    ini = write_ini(directory / "sync.ini", {
        "sqlalchemy.url": f"sqlite:///{directory / 'sync.db'}", "db.auto_migrate": "true",
        "server.public_url": base + "/", "master_secret": "firefox-test-secret",
        "accounts.enabled": "true", "accounts.require_email_verification": "true",
        **mail.settings(),
        # Offline: only this server's own accounts are trusted.
        "tokenserver.oauth_server_url": "",
    }, port=port)
    with PasterServer(ini, port) as paster:
        yield LiveServer(paster, directory / "sync.db")
    assert "Traceback" not in paster.output, paster.output


@dataclass
class LiveServer:
    paster: PasterServer
    database: Path

    @property
    def base_url(self) -> str:
        return self.paster.base_url


def firefox_prefs(base: str) -> dict[str, Any]:
    return {
        # What a user sets (allowHttp only because the test server is plain http).
        "identity.fxaccounts.autoconfig.uri": base,
        "identity.fxaccounts.allowHttp": True,
        # Diagnostics only: keep the sync log of successful syncs too.
        "services.sync.log.appender.file.logOnSuccess": True,
    }


class Browser:
    """One Firefox with the helpers the steps below share."""

    def __init__(self, firefox: Firefox, name: str, artifacts: Path):
        self.firefox = firefox
        self.name = name
        self.artifacts = artifacts
        self.shots = 0

    @property
    def page(self):
        return self.firefox.marionette

    def shot(self, label: str) -> None:
        self.shots += 1
        self.firefox.screenshot(self.artifacts / f"{self.name}-{self.shots:02d}-{label}.png")

    def keep_logs(self) -> None:
        logs = self.firefox.profile_dir / "weave" / "logs"
        if logs.is_dir():
            shutil.copytree(logs, self.artifacts / f"{self.name}-sync-logs", dirs_exist_ok=True)

    def wait(self, condition: Callable[[], Any], what: str,
             timeout_seconds: float = WAIT_SECONDS) -> Any:
        deadline = time.monotonic() + timeout_seconds
        while True:
            result = condition()
            if result:
                return result
            if time.monotonic() > deadline:
                self.shot("timeout")
                self.keep_logs()
                raise AssertionError(f"{self.name}: no {what} within {timeout_seconds}s "
                                     f"(see {self.artifacts})")
            time.sleep(0.25)

    # -- the accounts pages ------------------------------------------------------

    def open_sign_in(self) -> None:
        """Where Firefox's "Sign in" button leads: our page, with an OAuth flow begun."""
        url = self.firefox.chrome("""
            const {FxAccountsConfig} = ChromeUtils.importESModule(
                "resource://gre/modules/FxAccountsConfig.sys.mjs");
            return FxAccountsConfig.promiseConnectAccountURI("preferences");""")
        self.page.navigate(url)

    def visible(self, element_id: str) -> bool:
        return self.page.find_element(By.ID, element_id).is_displayed()

    def type(self, element_id: str, text: str) -> None:
        field = self.page.find_element(By.ID, element_id)
        field.clear()
        field.send_keys(text)

    def submit(self, button_id: str) -> None:
        self.page.find_element(By.ID, button_id).click()

    def message(self) -> str:
        return self.page.find_element(By.ID, "form-message").text

    def step(self, step_id: str) -> None:
        self.wait(lambda: self.visible(step_id), f"page step {step_id}")

    def wait_message(self, pattern: str) -> str:
        return self.wait(lambda: re.search(pattern, self.message()) and self.message(),
                         f"page message like {pattern!r} (now {self.message()!r})")

    # -- Firefox's accounts and Sync ---------------------------------------------

    def account(self) -> dict[str, Any] | None:
        return self.firefox.chrome("""
            const {getFxAccountsSingleton} = ChromeUtils.importESModule(
                "resource://gre/modules/FxAccounts.sys.mjs");
            const fxa = getFxAccountsSingleton();
            const user = await fxa.getSignedInUser();
            if (!user || !user.verified || !(await fxa.keys.hasKeysForScope(arguments[0]))) {
                return null;
            }
            const key = await fxa.keys.getKeyForScope(arguments[0]);
            return {uid: user.uid, email: user.email, kid: key.kid, k: key.k};""", OLDSYNC)

    def sync_now(self) -> dict[str, str]:
        return self.firefox.chrome("""
            const {Weave} = ChromeUtils.importESModule("resource://services-sync/main.sys.mjs");
            const {setTimeout} = ChromeUtils.importESModule("resource://gre/modules/Timer.sys.mjs");
            // sync() does nothing while another sync (such as the one signing in
            // starts) holds the lock.
            for (let i = 0; i < 600 && Weave.Service.locked; i++) {
                await new Promise(resolve => setTimeout(resolve, 100));
            }
            await Weave.Service.sync({why: "user"});
            return {service: Weave.Status.service, sync: Weave.Status.sync,
                    login: Weave.Status.login};""", timeout_seconds=WAIT_SECONDS * 2)

    def synced(self) -> bool:
        status = self.sync_now()
        return status["service"] == "success.status_ok" and status["sync"] == "success.sync"

    def sign_out(self) -> None:
        self.firefox.chrome("""
            const {getFxAccountsSingleton} = ChromeUtils.importESModule(
                "resource://gre/modules/FxAccounts.sys.mjs");
            await getFxAccountsSingleton().signOut();""")

    def add_bookmark(self, url: str, title: str) -> None:
        self.firefox.chrome("""
            const {PlacesUtils} = ChromeUtils.importESModule(
                "resource://gre/modules/PlacesUtils.sys.mjs");
            await PlacesUtils.bookmarks.insert({parentGuid: PlacesUtils.bookmarks.toolbarGuid,
                                                url: arguments[0], title: arguments[1]});""",
                            url, title)

    def bookmark_title(self, url: str) -> str | None:
        return self.firefox.chrome("""
            const {PlacesUtils} = ChromeUtils.importESModule(
                "resource://gre/modules/PlacesUtils.sys.mjs");
            const bookmark = await PlacesUtils.bookmarks.fetch({url: arguments[0]});
            return bookmark ? bookmark.title : null;""", url)

    def add_login(self, origin: str, username: str, password: str) -> None:
        self.firefox.chrome("""
            const login = Cc["@mozilla.org/login-manager/loginInfo;1"]
                .createInstance(Ci.nsILoginInfo);
            login.init(arguments[0], arguments[0], null, arguments[1], arguments[2], "", "");
            await Services.logins.addLoginAsync(login);""", origin, username, password)

    def logins(self, origin: str) -> list[list[str]]:
        return self.firefox.chrome("""
            const found = await Services.logins.searchLoginsAsync({origin: arguments[0]});
            return found.map(login => [login.username, login.password]);""", origin)


@contextmanager
def browser(name: str, server: LiveServer, artifacts: Path, binary: str,
            tmp_path: Path) -> Iterator[Browser]:
    """A fresh profile; on failure its last screen and sync logs join the artifacts."""
    with Firefox(tmp_path / name, firefox_prefs(server.base_url), binary) as firefox:
        driven = Browser(firefox, name, artifacts)
        try:
            yield driven
        except BaseException:
            with contextlib.suppress(Exception):
                driven.shot("failure")
            raise
        finally:
            driven.keep_logs()


def sign_in(browser: Browser, password: str) -> None:
    browser.open_sign_in()
    browser.step("step-email")
    browser.type("email", EMAIL)
    browser.submit("email-submit")
    browser.step("step-signin")
    browser.type("password", password)
    browser.shot("sign-in")
    browser.submit("signin-submit")


def mailed_code(mail: SMTPCapture, email: str, label: str = "Confirmation code") -> str:
    for received in reversed(mail.messages):
        match = re.search(label + r":? ([A-Z0-9]{4}(?:-[A-Z0-9]{4}){3})", received.text)
        if match and email in received.recipients:
            return match.group(1)
    raise AssertionError(f"no {label!r} was mailed to {email}")


def database_text(path: Path) -> bytes:
    """Every byte the database keeps, in its file and journal, and its logical dump."""
    raw = b"".join(p.read_bytes() for p in sorted(path.parent.glob(path.name + "*")))
    with sqlite3.connect(path) as conn:
        dump = "\n".join(conn.iterdump()).encode("utf-8")
    return raw + dump


def stored_records(path: Path, collection: str) -> list[dict[str, Any]]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT payload FROM bso WHERE collection = ?", (collection,))
        return [json.loads(payload) for (payload,) in rows]


def server_keys(server: LiveServer, password: str, email: str = EMAIL) -> tuple[bytes, int]:
    """kB as the page computes it, from a sign-in over HTTP, and keys_changed_at."""
    keys = stretch(email, password)
    answer = http_request("POST", server.base_url + "/v1/account/login?keys=true",
                          {"email": email, "authPW": keys.auth_pw.hex()})
    assert answer.status == 200, answer.body
    body = answer.json()
    return xor(bytes.fromhex(body["wrapKB"]), keys.unwrap_b_key), body["keysChangedAt"]


def confirmed_account(server: LiveServer, mail: SMTPCapture, email: str, password: str) -> None:
    """Sign up and confirm over HTTP, as the page would."""
    keys = stretch(email, password)
    created = http_request("POST", server.base_url + "/v1/account/create",
                           {"email": email, "authPW": keys.auth_pw.hex()})
    assert created.status == 200, created.body
    url = server.base_url + "/v1/recovery_email/verify_code"
    body = json.dumps({"code": mailed_code(mail, email)}).encode()
    confirmed = http_request("POST", url, body, headers={
        "Authorization": hawk_header(created.json()["sessionToken"], "POST", url, body)})
    assert confirmed.status == 200, confirmed.body


def test_firefox_signs_up_syncs_encrypted_and_a_second_profile_gets_the_data(
        server, mail, artifacts, binary, tmp_path):
    marker = secrets.token_hex(6)
    bookmark_url = f"https://bookmarks.example/private-{marker}"
    bookmark_title = f"Private bookmark {marker}"
    login_origin = "https://login.example"
    login_user, login_password = f"alice-{marker}", f"s3cret-{marker}"
    version = firefox_version(binary)
    (artifacts / "firefox-version.txt").write_text(version + "\n", encoding="utf-8")

    with browser("first", server, artifacts, binary, tmp_path) as first:
        # Sign up on our pages, confirming the address with the mailed code.
        first.open_sign_in()
        first.step("step-email")
        first.shot("email")
        first.type("email", EMAIL)
        first.submit("email-submit")
        first.step("step-signup")
        first.type("new-password", PASSWORD)
        first.type("repeat-password", PASSWORD)
        first.shot("sign-up")
        first.submit("signup-submit")
        first.step("step-confirm")
        first.shot("confirm")
        first.type("code", mailed_code(mail, EMAIL))
        first.submit("confirm-submit")
        first.wait_message("signed in and syncing")
        first.shot("signed-in")
        account = first.wait(first.account, "signed-in account with a sync key")

        # The key Firefox holds is the one the password and the server's wrapKB
        # make together; the server alone cannot compute it.
        kb, keys_changed_at = server_keys(server, PASSWORD)
        expected = sync_key(kb, keys_changed_at)
        assert (account["kid"], account["k"]) == (expected["kid"], expected["k"]), version

        first.wait(first.synced, "first sync")
        first.add_bookmark(bookmark_url, bookmark_title)
        first.add_login(login_origin, login_user, login_password)
        first.wait(lambda: first.synced() and stored_records(server.database, "passwords"),
                   "sync of the new login")

    # Stored, but only as ciphertext: no title, URL, user name or password.
    for collection in ("bookmarks", "passwords"):
        records = stored_records(server.database, collection)
        assert records, f"no {collection} records stored"
        assert all(set(record) == {"ciphertext", "IV", "hmac"} for record in records), records
    stored = database_text(server.database)
    for secret in (bookmark_title, bookmark_url, login_user, login_password, PASSWORD,
                   kb.hex()):
        assert secret.encode() not in stored, f"{secret!r} is stored in plain text"

    with browser("second", server, artifacts, binary, tmp_path) as second:
        sign_in(second, "not the password")
        second.wait_message("Incorrect password")
        second.shot("wrong-password")
        assert second.account() is None
        second.type("password", PASSWORD)
        second.submit("signin-submit")
        second.wait_message("signed in and syncing")
        second.shot("signed-in")
        signed_in = second.wait(second.account, "signed-in account with a sync key")
        assert (signed_in["uid"], signed_in["kid"]) == (account["uid"], account["kid"])

        second.wait(lambda: second.synced() and second.bookmark_title(bookmark_url),
                    "synced bookmark")
        assert second.bookmark_title(bookmark_url) == bookmark_title
        second.wait(lambda: second.logins(login_origin), "synced login")
        assert second.logins(login_origin) == [[login_user, login_password]]

        # Signing out and in again gives the same key, hence the same storage.
        second.sign_out()
        second.wait(lambda: second.account() is None, "signed-out state")
        sign_in(second, PASSWORD)
        second.wait_message("signed in and syncing")
        again = second.wait(second.account, "signed-in account after signing in again")
        assert again["kid"] == account["kid"]
        second.wait(second.synced, "sync after signing in again")


def test_the_pages_script_and_the_account_pages(server, mail, artifacts, binary, tmp_path):
    """The page's WebCrypto code, run in Firefox, against this suite's own reading
    of the protocol (syncreg.fxa.testing), on inputs with non-ASCII characters.
    Marionette sees the page's globals through ``window.wrappedJSObject``.

    Then the settings and reset pages, used as a person would: a password
    change keeps the sync key, a reset makes a new one, deletion removes the
    account."""
    with browser("crypto", server, artifacts, binary, tmp_path) as page:
        page.page.navigate(server.base_url + "/reset_password")
        page.shot("reset-password")
        js = "const a = window.wrappedJSObject.syncAccounts;\n"
        run = page.firefox.content

        email, password = "zoë@example.com", "pässwörd ✓ 123"
        derived = run(js + """
            const keys = await a.stretch(arguments[0], arguments[1]);
            return [a.toHex(keys.authPW), a.toHex(keys.unwrapBKey)];""", email, password)
        keys = stretch(email, password)
        assert derived == [keys.auth_pw.hex(), keys.unwrap_b_key.hex()]

        kb = secrets.token_bytes(32)
        key = run(js + "return await a.syncKey(a.fromHex(arguments[0]), 1700000000123);",
                  kb.hex())
        assert key == sync_key(kb, 1700000000123)
        assert key["kid"] == "1700000000123-" + b64url(hashlib.sha256(kb).digest()[:16])

        # The page seals for Firefox's key; Firefox's way of opening it works.
        firefox_key = BrowserKey()
        plaintext = json.dumps({OLDSYNC: key})
        jwe = run(js + """
            return await a.encryptToJwk(arguments[0], new TextEncoder().encode(arguments[1]));""",
                  firefox_key.public_jwk(), plaintext)
        assert json.loads(firefox_key.decrypt(jwe)) == {OLDSYNC: key}
        header = json.loads(unb64url(jwe.split(".")[0]))
        assert (header["alg"], header["enc"], set(header["epk"])) == \
            ("ECDH-ES", "A256GCM", {"kty", "crv", "x", "y"})
        assert jwe.split(".")[1] == ""  # no encrypted key: direct key agreement

        # A Hawk header made by the page verifies with the server's own code.
        token = secrets.token_hex(32)
        url = server.base_url + "/v1/account/device?x=1"
        body = '{"name": "ünïcode"}'
        header_text = run(js + "return await a.hawkHeader(...arguments);",
                          token, "POST", url, body)
        params = dict(re.findall(r'(\w+)="([^"]*)"', header_text))
        credentials = token_credentials(token)
        assert params["id"] == credentials.id
        assert params["hash"] == payload_hash("application/json", body.encode("utf-8"))
        port = url.split(":")[2].split("/")[0]
        assert params["mac"] == request_mac(credentials.key, params, "POST",
                                            "/v1/account/device?x=1", "127.0.0.1", port)

        bob, first, second, third = "bob@example.com", "first password", "second password", \
            "third password"
        confirmed_account(server, mail, bob, first)
        kb, keys_changed_at = server_keys(server, first, bob)

        page.page.navigate(server.base_url + "/settings")
        page.type("email", bob)
        page.type("password", first)
        page.type("new-password", second)
        page.type("repeat-password", second)
        page.shot("settings")
        page.submit("password-submit")
        page.wait_message("password is changed")
        assert server_keys(server, second, bob) == (kb, keys_changed_at)

        page.page.navigate(server.base_url + "/reset_password")
        page.type("email", bob)
        page.submit("request-submit")
        page.step("step-reset")
        page.type("code", mailed_code(mail, bob, "enter the code"))
        page.type("new-password", third)
        page.type("repeat-password", third)
        page.shot("reset-code")
        page.submit("reset-submit")
        page.wait_message("password is reset")
        new_kb, new_keys_changed_at = server_keys(server, third, bob)
        assert new_kb != kb and new_keys_changed_at > keys_changed_at

        page.page.navigate(server.base_url + "/settings")
        page.type("delete-email", bob)
        page.type("delete-password", third)
        page.submit("delete-submit")
        page.wait_message("account is deleted")
        page.shot("deleted")
        gone = http_request("POST", server.base_url + "/v1/account/status", {"email": bob})
        assert gone.json() == {"exists": False}
