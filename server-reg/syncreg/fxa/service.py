"""What the accounts API does, independent of HTTP: sign-up, sign-in, address
confirmation, password change and reset, deletion.

The password never reaches us: the browser sends ``authPW`` (32 bytes), kept
as an argon2 hash, and receives ``wrapKB`` only after proving it. A password
change keeps the sync key (the page sends the new ``wrapKB`` it computed
from the old key); a reset makes a new random ``wrapKB``, hence a new sync
key and a new ``keys_changed_at``, which tells the token server to start an
empty storage bucket.

Rate limits (``RateLimited``): failed sign-ins per address and per client,
sign-ups per client and per address, reset mails per account and client.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from urllib.parse import urlencode

from synccore.passwords import PasswordHashing
from syncreg.fxa import codes as purposes
from syncreg.fxa import errors
from syncreg.fxa.codes import AccountCodes
from syncreg.fxa.errors import Errno
from syncreg.fxa.onepw import new_token, new_uid, new_wrap_kb, token_credentials
from syncreg.fxa.store import Account, AccountExists, AccountStore, Session
from syncreg.mail import Mailer
from syncreg.passwordreset import describe_lifetime
from syncreg.ratelimit import RateLimiter

logger = logging.getLogger("syncreg.fxa")


@dataclass(frozen=True)
class Policy:
    require_verification: bool
    allow_new_accounts: bool
    verification_code_seconds: int
    reset_code_seconds: int


@dataclass(frozen=True)
class SignedIn:
    account: Account
    session_token: str    # hex, for the browser
    session_id: str


class Accounts:
    def __init__(self, store: AccountStore, hashing: PasswordHashing, codes: AccountCodes,
                 mailer: Mailer | None, limiter: RateLimiter, policy: Policy,
                 public_base: str, clock: Callable[[], float] = time.time):
        self.store = store
        self.hashing = hashing
        self.codes = codes
        self.mailer = mailer
        self.limiter = limiter
        self.policy = policy
        self.public_base = public_base
        self._clock = clock

    def now_ms(self) -> int:
        return int(self._clock() * 1000)

    def _new_session(self, uid: str, user_agent: str) -> tuple[Session, str]:
        token = new_token()
        credentials = token_credentials(token)
        now = self.now_ms()
        return Session(id=credentials.id, uid=uid, hawk_key=credentials.key, created_at=now,
                       last_access_at=now, user_agent=user_agent), token

    # -- sign-up and sign-in -----------------------------------------------------

    def create(self, email: str, auth_pw: bytes, user_agent: str, client: str) -> SignedIn:
        if not self.policy.allow_new_accounts:
            raise errors.unavailable("This server does not accept new accounts")
        for rule, key in (("create_address", client), ("create_account", email.lower())):
            self.limiter.check(rule, key)
            self.limiter.hit(rule, key)
        if self.store.find_account(email) is not None:
            raise errors.bad_request(Errno.ACCOUNT_EXISTS, "Account already exists")
        now = self.now_ms()
        account = Account(uid=new_uid(), email=email, auth_hash=self.hashing.hash(auth_pw.hex()),
                          wrap_kb=new_wrap_kb(),
                          verified=not self.policy.require_verification,
                          created_at=now, verifier_set_at=now, keys_changed_at=now)
        session, token = self._new_session(account.uid, user_agent)
        try:
            self.store.create_account(account, session)
        except AccountExists:
            raise errors.bad_request(Errno.ACCOUNT_EXISTS, "Account already exists") from None
        logger.info("account %s created", account.uid)
        if not account.verified:
            self.send_verification(account)
        return SignedIn(account, token, session.id)

    def check_password(self, account: Account, auth_pw: bytes) -> bool:
        if not self.hashing.verify(account.auth_hash, auth_pw.hex()):
            return False
        if self.hashing.needs_rehash(account.auth_hash):
            self.store.set_auth_hash(account.uid, self.hashing.hash(auth_pw.hex()))
        return True

    def authenticate(self, email: str, auth_pw: bytes, client: str) -> Account:
        """The account whose authPW this is, or the errors Firefox knows: 102
        unknown account, 120 other case of the address (with the stored one),
        103 wrong password."""
        keys = (("login_account", email.lower()), ("login_address", client))
        for rule, key in keys:
            self.limiter.check(rule, key)
        account = self.store.find_account(email)
        if account is None:
            raise errors.bad_request(Errno.UNKNOWN_ACCOUNT, "Unknown account")
        if account.email != email:
            # The address salts the password stretching: the browser must use ours.
            raise errors.bad_request(Errno.INCORRECT_EMAIL_CASE, "Incorrect email case",
                                     email=account.email)
        if not self.check_password(account, auth_pw):
            for rule, key in keys:
                self.limiter.hit(rule, key)
            raise errors.bad_request(Errno.INCORRECT_PASSWORD, "Incorrect password")
        return account

    def login(self, email: str, auth_pw: bytes, user_agent: str, client: str) -> SignedIn:
        account = self.authenticate(email, auth_pw, client)
        if not account.verified and not self.policy.require_verification:
            # Made while confirmation was required; it no longer is.
            self.store.set_verified(account.uid)
            account = replace(account, verified=True)
        session, token = self._new_session(account.uid, user_agent)
        self.store.add_session(session)
        return SignedIn(account, token, session.id)

    # -- address confirmation --------------------------------------------------

    def _mail(self, recipient: str, subject: str, body: str) -> None:
        if self.mailer is None:
            raise errors.unavailable("This server sends no mail")
        self.mailer.send(recipient, subject, body)

    def send_verification(self, account: Account) -> None:
        code = self.codes.issue(purposes.VERIFY, account.uid,
                                self.policy.verification_code_seconds)
        self._mail(account.email, "Confirm your Sync account", (
            "Someone (hopefully you) created a Sync account with this address.\n"
            "\n"
            f"Confirmation code: {code}\n"
            "\n"
            "Enter it on the sign-in page within the next "
            f"{describe_lifetime(self.policy.verification_code_seconds)}. "
            "If you did not sign up, ignore this message.\n"))

    def verify(self, account: Account, code: str) -> None:
        if account.verified:
            return
        if not self.codes.consume(purposes.VERIFY, account.uid, code):
            raise errors.bad_request(Errno.INVALID_VERIFICATION_CODE,
                                     "Invalid or expired confirmation code")
        self.store.set_verified(account.uid)
        logger.info("account %s confirmed its address", account.uid)

    # -- password change and reset -------------------------------------------------

    def change_password(self, account: Account, session: Session, old_auth_pw: bytes,
                        auth_pw: bytes, wrap_kb: bytes, client: str) -> None:
        """Same sync key, new password: every other session ends."""
        self.authenticate(account.email, old_auth_pw, client)
        self.store.change_credentials(account.uid, self.hashing.hash(auth_pw.hex()), wrap_kb,
                                      verifier_set_at=max(self.now_ms(),
                                                          account.verifier_set_at + 1),
                                      keys_changed_at=account.keys_changed_at,
                                      keep_session=session.id)
        logger.info("account %s changed its password", account.uid)

    def send_reset(self, email: str, client: str) -> None:
        """Mail a reset code if the address has an account (silently nothing otherwise)."""
        if self.mailer is None:
            raise errors.unavailable("Password reset needs mail, which this server "
                                     "does not send")
        self.limiter.check("reset_address", client)
        self.limiter.hit("reset_address", client)
        account = self.store.find_account(email)
        if account is None:
            return
        self.limiter.check("reset_account", account.uid)
        self.limiter.hit("reset_account", account.uid)
        lifetime = self.policy.reset_code_seconds
        code = self.codes.issue(purposes.RESET, account.uid, lifetime)
        link = f"{self.public_base}/reset_password?" + urlencode(
            [("email", account.email), ("code", code)])
        self._mail(account.email, "Reset your Sync password", (
            "Someone (hopefully you) asked to reset the password of your Sync account.\n"
            "\n"
            f"{link}\n"
            "\n"
            f"Open the link, or enter the code {code} on the reset page, within the next "
            f"{describe_lifetime(lifetime)}.\n"
            "A reset makes new encryption keys: your devices upload their data again, "
            "and what only this server had is lost.\n"
            "If you did not ask for this, ignore this message: your password stays as it "
            "is.\n"))
        logger.info("password reset mail sent for account %s", account.uid)

    def reset(self, email: str, code: str, auth_pw: bytes) -> Account:
        """New password and new keys, proven by a mailed code; every session ends."""
        account = self.store.find_account(email)
        if account is not None and account.email != email:
            # The new password must be stretched with the address as stored.
            raise errors.bad_request(Errno.INCORRECT_EMAIL_CASE, "Incorrect email case",
                                     email=account.email)
        if account is None or not self.codes.consume(purposes.RESET, account.uid, code):
            raise errors.bad_request(Errno.INVALID_VERIFICATION_CODE,
                                     "Invalid or expired reset code")
        now = max(self.now_ms(), account.verifier_set_at + 1, account.keys_changed_at + 1)
        self.store.change_credentials(account.uid, self.hashing.hash(auth_pw.hex()),
                                      new_wrap_kb(), verifier_set_at=now,
                                      keys_changed_at=now, keep_session=None)
        if not account.verified:
            self.store.set_verified(account.uid)  # the code came through the mailbox
        logger.info("account %s reset its password and keys", account.uid)
        return account

    def destroy(self, account: Account) -> None:
        self.codes.cancel(purposes.VERIFY, account.uid)
        self.codes.cancel(purposes.RESET, account.uid)
        self.store.delete_account(account.uid)
        logger.info("account %s deleted", account.uid)
