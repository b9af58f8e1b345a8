"""The account pages in a real headless Chromium against ``bin/paster serve``,
with accounts in SQL (every engine) and in LDAP (a real slapd).

One walk per backend, each step checked as it happens: a password reset is
asked for by e-mail address on the reset page; the mail arrives at a local
SMTP server; its link opens the new-password page, which refuses mismatched
passwords and then sets the new one; the old password now fails and the new
one works over Storage 1.1 Basic auth, and the link is spent; the
delete-account page refuses a wrong password and then removes the account
and its stored data. JavaScript is off in the browser: the pages need none.
Screenshots of every page land in ``test-artifacts/``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from synccore.testing import make_settings, make_test_app
from syncreg.rules import client_username
from syncreg.testing import SMTPCapture
from syncserver.testing import PasterServer, free_port, http_request, write_ini

pytestmark = pytest.mark.slow

EMAIL = "Chromium.User@Example.com"
OLD = "the first password"
NEW = "mynewpassword"


@dataclass
class Walk:
    """What every step needs: the live server, the mail it sends, one browser tab."""

    base_url: str
    smtp: SMTPCapture
    page: object  # playwright.sync_api.Page
    screenshots: Path
    console: list[str]

    def shoot(self, name: str) -> None:
        self.page.screenshot(path=str(self.screenshots / f"{name}.png"), full_page=True)

    def open(self, path_or_url: str) -> None:
        url = path_or_url if "://" in path_or_url else self.base_url + path_or_url
        response = self.page.goto(url)
        assert response is not None and response.status == 200, url

    def submit(self, button: str, status: int = 200) -> None:
        with self.page.expect_navigation() as navigation:
            self.page.get_by_role("button", name=button).click()
        assert navigation.value.status == status, self.page.content()

    def message(self) -> str:
        return self.page.locator("#form-message").inner_text()


def basic_status(walk: Walk, username: str, password: str) -> int:
    return http_request("GET", f"{walk.base_url}/1.1/{username}/info/collections",
                        auth=(username, password)).status


def walk_through_the_account_pages(walk: Walk, inspect) -> None:
    from playwright.sync_api import expect

    page, base = walk.page, walk.base_url
    username = client_username(EMAIL)

    # An account made the way Firefox makes it, with a bookmark stored.
    created = http_request("PUT", f"{base}/user/1.0/{username}",
                           {"email": EMAIL, "password": OLD})
    assert (created.status, created.body) == (200, username.encode())
    stored = http_request("PUT", f"{base}/1.1/{username}/storage/bookmarks/b1",
                          {"id": "b1", "payload": "a bookmark"}, auth=(username, OLD))
    assert stored.status == 200
    userid = inspect.users.get_user(username).userid
    assert inspect.storage.collection_timestamps(userid) != {}

    # 1. Ask for a reset by e-mail address.
    walk.open("/weave-password-reset")
    expect(page).to_have_title("Reset your password \N{EN DASH} Sync")
    # The stylesheet loaded (the content-security policy lets /media/ through).
    expect(page.locator("main")).to_have_css("max-width", "448px")
    walk.shoot("1-reset-request")
    page.get_by_label("Username or email address").fill(EMAIL)
    walk.submit("Email me a reset link")
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")
    assert "within the next 6 hours" in page.locator("main").inner_text()
    walk.shoot("2-reset-mail-sent")

    # 2. The mail arrives at the SMTP server, with the link on line 3.
    [mail] = walk.smtp.messages
    assert mail.recipients == [EMAIL]
    assert mail.message["Subject"] == "Resetting your Services password"
    link = mail.reset_link()[0]
    assert link.startswith(f"{base}/weave-password-reset?username={username}&key=")

    # 3. The link opens the new-password page; a mismatch is refused.
    walk.open(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose a new password")
    walk.shoot("3-new-password")
    page.get_by_label("New password", exact=True).fill(NEW)
    page.get_by_label("New password again").fill(NEW + " typo")
    walk.submit("Change password")
    assert "do not match" in walk.message()
    expect(page.get_by_label("New password again")).to_have_attribute("aria-invalid", "true")
    walk.shoot("4-passwords-do-not-match")
    assert basic_status(walk, username, OLD) == 200

    # 4. Matching passwords set the new one.
    page.get_by_label("New password", exact=True).fill(NEW)
    page.get_by_label("New password again").fill(NEW)
    walk.submit("Change password")
    assert "Password successfully changed" in walk.message()
    walk.shoot("5-password-changed")

    # 5. The old password fails, the new one works, the data is still there,
    #    and the link is spent.
    assert basic_status(walk, username, OLD) == 401
    assert basic_status(walk, username, NEW) == 200
    assert inspect.storage.collection_timestamps(userid) != {}
    walk.open(link)
    assert "Key does not match with username" in walk.message()
    walk.shoot("6-link-spent")

    # 6. The delete page refuses a wrong password, then removes everything.
    walk.open("/weave-delete-account")
    expect(page.get_by_role("heading", level=1)).to_have_text("Delete your account")
    walk.shoot("7-delete-account")
    page.get_by_label("Username or email address").fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(OLD)
    walk.submit("Delete my account and all its data")
    assert walk.message().startswith("Bad credentials")
    expect(page.get_by_label("Username or email address")).to_have_value(EMAIL)
    walk.shoot("8-bad-credentials")
    assert inspect.users.get_user(username) is not None
    page.get_by_label("Password", exact=True).fill(NEW)
    walk.submit("Delete my account and all its data")
    assert walk.message() == "Account removed."
    walk.shoot("9-account-removed")

    # 7. The account and its data are gone.
    assert http_request("GET", f"{base}/user/1.0/{username}").body == b"0"
    assert basic_status(walk, username, NEW) == 401
    assert inspect.users.get_user(username) is None
    assert inspect.storage.collection_timestamps(userid) == {}
    assert inspect.reset_codes.get(username) is None

    policy_errors = [line for line in walk.console if "Content Security Policy" in line]
    assert policy_errors == []


def run_walk(chromium, settings: dict[str, str], smtp: SMTPCapture, screenshots: Path,
             tmp_path: Path) -> None:
    """Serve ``settings`` with ``bin/paster serve`` and walk through the pages."""
    port = free_port()
    public_url = f"http://127.0.0.1:{port}/"
    settings = {**settings, **smtp.settings(), "server.public_url": public_url,
                "db.auto_migrate": "true", "reset_codes.secret": "browser test",
                "web.csrf_secret": "browser test"}
    ini = write_ini(tmp_path / "browser.ini", settings, port=port)
    with PasterServer(ini, port) as server:
        # The same databases seen from here, to check what the pages changed.
        inspect = make_test_app(make_settings(settings["sqlalchemy.url"],
                                              **settings)).app.registry
        context = chromium.new_context(java_script_enabled=False, locale="en-GB",
                                       viewport={"width": 800, "height": 720})
        try:
            page = context.new_page()
            page.set_default_timeout(15_000)
            console: list[str] = []
            page.on("console", lambda message: console.append(message.text))
            walk = Walk(server.base_url, smtp, page, screenshots, console)
            walk_through_the_account_pages(walk, inspect)
        finally:
            context.close()
            close = getattr(inspect.users, "close", None)
            if close is not None:
                close()


def test_account_pages_with_sql_accounts(chromium, database_url, smtp_server, screenshots,
                                         tmp_path):
    run_walk(chromium, {"sqlalchemy.url": database_url}, smtp_server, screenshots, tmp_path)


def test_account_pages_with_ldap_accounts(chromium, slapd, smtp_server, screenshots,
                                          tmp_path):
    settings = {"sqlalchemy.url": f"sqlite:///{tmp_path / 'storage.db'}",
                **slapd.settings(slapd.new_users_base())}
    run_walk(chromium, settings, smtp_server, screenshots, tmp_path)
