"""The LDAP user store (OpenLDAP and other RFC 4511 directories), via ldap3.

Select it with ``users.backend = synccore.users.ldap``; the ``ldap.*``
settings in ``synccore.SETTINGS`` describe the directory.

How an account maps onto the directory (attribute names are settings):

* one entry ``uid=<username>,<users_base_dn>`` whose object classes are
  ``ldap.object_classes``, plus the ``ldap.extra_attributes`` those classes
  require (``{username}`` is replaced by the username);
* the numeric user id in ``uidNumber``, allocated from a counter entry
  (``ldap.userid_counter_dn``) by an atomic compare-and-swap modify: delete
  the value that was read and add its successor in one operation, which
  fails for every writer but one when several race;
* the e-mail address in ``mail``; an account is disabled while it has
  ``ldap.disabled_attribute`` (``shadowExpire``, so PAM/SSSD agree);
* the password only as ``userPassword``, hashed by the directory through
  the Password Modify extended operation (``ldap.password_scheme =
  directory``) or here, as ``{ARGON2}`` or ``{SSHA}``. Passwords are checked
  by binding as the account, never by reading them.

Usernames are matched exactly: the directory compares ``uid`` without
regard to case, so every lookup re-checks the value it gets back. Two
names differing only in case cannot coexist here (the second is refused
as taken), unlike in the SQL store.

``credential_version`` is derived from ``userPassword`` when the service
account may read it, else from ``entryCSN`` / ``modifyTimestamp``, which
change with every modification (a superset of password changes).
"""
from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import ldap3
from ldap3.core.exceptions import LDAPException
from ldap3.utils.conv import escape_filter_chars
from ldap3.utils.dn import escape_rdn, parse_dn

from synccore.exceptions import BackendConflict, BackendError
from synccore.passwords import HashingParameters, PasswordHashing
from synccore.settings import ConfigurationError
from synccore.users import InvalidEmail, User, UserBackend, UserExists, UserNotFound
from synccore.users.ldappool import LDAPPool, ServerOptions

# LDAP result codes this module reacts to (RFC 4511 appendix A).
SUCCESS = 0
OPERATIONS_ERROR = 1
PROTOCOL_ERROR = 2
TIME_LIMIT_EXCEEDED = 3
NO_SUCH_ATTRIBUTE = 16
INVALID_ATTRIBUTE_SYNTAX = 21
NO_SUCH_OBJECT = 32
INVALID_CREDENTIALS = 49
BUSY = 51
UNAVAILABLE = 52
ENTRY_ALREADY_EXISTS = 68
OTHER = 80
# Bind results that mean "the directory is in trouble", not "wrong password".
_BIND_FAILURES = {OPERATIONS_ERROR, PROTOCOL_ERROR, TIME_LIMIT_EXCEEDED, BUSY, UNAVAILABLE, OTHER}

PASSWORD_SCHEMES = ("directory", "argon2", "ssha")
PAGED_RESULTS_OID = "1.2.840.113556.1.4.319"
_ALLOCATION_ATTEMPTS = 100


@dataclass(frozen=True)
class DirectoryLayout:
    """Where accounts live and which attributes hold what."""

    users_base_dn: str
    user_filter: str = "(objectClass=inetOrgPerson)"
    object_classes: tuple[str, ...] = ("inetOrgPerson", "posixAccount", "shadowAccount")
    username_attribute: str = "uid"
    email_attribute: str = "mail"
    userid_attribute: str = "uidNumber"
    userid_counter_dn: str = ""
    first_userid: int = 10000
    disabled_attribute: str = "shadowExpire"
    disabled_value: str = "1"
    extra_attributes: tuple[tuple[str, str], ...] = ()
    page_size: int = 100

    @property
    def counter_dn(self) -> str:
        return self.userid_counter_dn or f"cn=userid-counter,{self.users_base_dn}"

    def user_dn(self, username: str) -> str:
        return f"{self.username_attribute}={escape_rdn(username)},{self.users_base_dn}"

    def filter_for(self, attribute: str, value: str) -> str:
        return f"(&{self.user_filter}({attribute}={escape_filter_chars(value)}))"

    @property
    def read_attributes(self) -> list[str]:
        return [self.username_attribute, self.email_attribute, self.userid_attribute,
                self.disabled_attribute, "userPassword", "entryCSN", "modifyTimestamp"]


@dataclass(frozen=True)
class _Entry:
    """A user entry as read from the directory (raw attribute values)."""

    dn: str
    attributes: dict[str, list[bytes]]  # keys lower-cased

    def values(self, attribute: str) -> list[str]:
        return [value.decode("utf-8", "replace")
                for value in self.attributes.get(attribute.lower(), [])]

    def first(self, attribute: str) -> str | None:
        values = self.values(attribute)
        return values[0] if values else None

    def integer(self, attribute: str) -> int | None:
        """The attribute's value as an integer; None when absent or not a number."""
        value = self.first(attribute)
        try:
            return int(value) if value is not None else None
        except ValueError:
            return None


class LDAPUserBackend(UserBackend):
    """Accounts kept as directory entries; see the module docstring."""

    def __init__(self, layout: DirectoryLayout, admin_pool: LDAPPool, bind_pool: LDAPPool,
                 password_scheme: str = "directory", hashing: PasswordHashing | None = None):
        if password_scheme not in PASSWORD_SCHEMES:
            raise ConfigurationError(f"ldap.password_scheme must be one of {PASSWORD_SCHEMES}")
        self.layout = layout
        # Service-account connections for searches and writes; separate
        # connections for password checks, which rebind as each account.
        self.admin_pool = admin_pool
        self.bind_pool = bind_pool
        self.password_scheme = password_scheme
        self.hashing = hashing or PasswordHashing()

    def close(self) -> None:
        self.admin_pool.close()
        self.bind_pool.close()

    # -- reading ------------------------------------------------------------

    def get_user(self, username: str) -> User | None:
        with self.admin_pool.connection() as conn:
            entry = self._find_by_name(conn, username)
        return self._to_user(entry, username) if entry is not None else None

    def get_user_by_id(self, userid: int) -> User | None:
        layout = self.layout
        with self.admin_pool.connection() as conn:
            entries = self._search(conn, layout.filter_for(layout.userid_attribute,
                                                           str(int(userid))))
        for entry in sorted(entries, key=lambda e: e.dn):
            username = self._username_of(entry)
            if username is not None and entry.integer(layout.userid_attribute):
                return self._to_user(entry, username)
        return None

    def iter_users(self) -> Iterator[User]:
        users = []
        with self.admin_pool.connection() as conn:
            for entry in self._search(conn, self.layout.user_filter, paged=True):
                username = self._username_of(entry)
                if username is not None and entry.integer(self.layout.userid_attribute):
                    users.append(self._to_user(entry, username))
        users.sort(key=lambda user: user.username)
        return iter(users)

    def ping(self) -> None:
        with self.admin_pool.connection() as conn:
            conn.search(self.layout.users_base_dn, "(objectClass=*)",
                        search_scope=ldap3.BASE, attributes=["1.1"])
            _check(conn, "read the users base entry")

    # -- password checks ------------------------------------------------------

    def authenticate(self, username: str, password: str) -> User | None:
        if not password:
            return None  # an empty simple bind is anonymous and would "succeed"
        # Read before binding: were the password changed in between, the
        # version read here is the old one and a credential cache entry made
        # from it is dropped at once.
        with self.admin_pool.connection() as conn:
            entry = self._find_by_name(conn, username)
        if entry is None:
            return None
        user = self._to_user(entry, username)
        if user.disabled or not self._bind_succeeds(entry.dn, password):
            return None
        return user

    def _bind_succeeds(self, dn: str, password: str) -> bool:
        with self.bind_pool.connection() as conn:
            # Bytes skip ldap3's SASLprep, so the password is compared exactly
            # as it was set.
            ok = conn.rebind(user=dn, password=password.encode("utf-8"),
                             read_server_info=False)
            conn.password = None
            code = conn.result.get("result")
            if not ok and code in _BIND_FAILURES:
                raise BackendError(f"bind as {dn} failed: {conn.result.get('description')}")
        return bool(ok)

    # -- writing ----------------------------------------------------------------

    def create_user(self, username: str, password: str, email: str | None = None) -> User:
        if not username:
            raise ValueError("a username cannot be empty")
        _require_password(password)
        layout = self.layout
        dn = layout.user_dn(username)
        with self.admin_pool.connection() as conn:
            # The directory matches names without regard to case and may hold
            # accounts outside the base entry: any such match takes the name.
            if self._search(conn, layout.filter_for(layout.username_attribute, username)):
                raise UserExists(username)
            userid = self._allocate_userid(conn)
            attributes = self._new_entry_attributes(username, userid, email, password)
            if not conn.add(dn, attributes=attributes):
                if conn.result.get("result") == ENTRY_ALREADY_EXISTS:
                    raise UserExists(username)
                # A non-ASCII address is the likely cause of a syntax error;
                # otherwise the attributes from the settings are at fault.
                _check(conn, f"add {dn}", email_given=bool(email) and not email.isascii())
            if self.password_scheme == "directory":
                try:
                    self._set_password_in_directory(conn, username, dn, password)
                except BaseException:
                    # Without a password the account could never be used;
                    # drop it so the name stays free for a retry.
                    _delete_quietly(conn, dn)
                    raise
            entry = self._read_entry(conn, dn)
        if entry is None:
            raise BackendError(f"{dn} vanished right after it was added")
        return self._to_user(entry, username)

    def set_password(self, username: str, password: str) -> None:
        _require_password(password)
        with self.admin_pool.connection() as conn:
            dn = self._dn_of(conn, username)
            if self.password_scheme == "directory":
                self._set_password_in_directory(conn, username, dn, password)
            else:
                self._modify(conn, username, dn, {
                    "userPassword": [(ldap3.MODIFY_REPLACE, [self._hash_here(password)])]})

    def set_email(self, username: str, email: str | None) -> None:
        with self.admin_pool.connection() as conn:
            dn = self._dn_of(conn, username)
            self._modify(conn, username, dn, {
                self.layout.email_attribute: [(ldap3.MODIFY_REPLACE, [email] if email else [])]},
                email_given=bool(email))

    def set_disabled(self, username: str, disabled: bool) -> None:
        layout = self.layout
        with self.admin_pool.connection() as conn:
            dn = self._dn_of(conn, username)
            values = [layout.disabled_value] if disabled else []
            self._modify(conn, username, dn, {
                layout.disabled_attribute: [(ldap3.MODIFY_REPLACE, values)]})

    def delete_user(self, username: str) -> None:
        with self.admin_pool.connection() as conn:
            dn = self._dn_of(conn, username)
            if not conn.delete(dn):
                if conn.result.get("result") == NO_SUCH_OBJECT:
                    raise UserNotFound(username)
                _check(conn, f"delete {dn}")

    # -- helpers ------------------------------------------------------------------

    def _search(self, conn: ldap3.Connection, search_filter: str,
                paged: bool = False) -> list[_Entry]:
        """Every matching entry under the base.

        ``paged``: fetch in pages (RFC 2696), for searches that may match
        more entries than the directory's size limit; lookups by name or id
        match one entry and save the control's cost.
        """
        entries: list[_Entry] = []
        cookie: bytes | None = None
        while True:
            conn.search(self.layout.users_base_dn, search_filter,
                        search_scope=ldap3.SUBTREE, attributes=self.layout.read_attributes,
                        paged_size=self.layout.page_size if paged else None,
                        paged_cookie=cookie)
            _check(conn, f"search {search_filter}")
            for item in conn.response or ():
                if item.get("type") == "searchResEntry":
                    raw = {key.lower(): list(values)
                           for key, values in item["raw_attributes"].items()}
                    entries.append(_Entry(item["dn"], raw))
            control = conn.result.get("controls", {}).get(PAGED_RESULTS_OID)
            cookie = control["value"]["cookie"] if control else None
            if not cookie:
                return entries

    def _find_by_name(self, conn: ldap3.Connection, username: str) -> _Entry | None:
        layout = self.layout
        for entry in self._search(conn, layout.filter_for(layout.username_attribute, username)):
            if username in entry.values(layout.username_attribute) \
                    and entry.integer(layout.userid_attribute):
                return entry
        return None

    def _dn_of(self, conn: ldap3.Connection, username: str) -> str:
        entry = self._find_by_name(conn, username)
        if entry is None:
            raise UserNotFound(username)
        return entry.dn

    def _read_entry(self, conn: ldap3.Connection, dn: str) -> _Entry | None:
        conn.search(dn, "(objectClass=*)", search_scope=ldap3.BASE,
                    attributes=self.layout.read_attributes)
        if conn.result.get("result") == NO_SUCH_OBJECT:
            return None
        _check(conn, f"read {dn}")
        for item in conn.response or ():
            if item.get("type") == "searchResEntry":
                return _Entry(item["dn"], {key.lower(): list(values)
                                           for key, values in item["raw_attributes"].items()})
        return None

    def _modify(self, conn: ldap3.Connection, username: str, dn: str,
                changes: dict[str, Any], email_given: bool = False) -> None:
        if not conn.modify(dn, changes):
            if conn.result.get("result") == NO_SUCH_OBJECT:
                raise UserNotFound(username)
            _check(conn, f"modify {dn}", email_given=email_given)

    def _username_of(self, entry: _Entry) -> str | None:
        """The entry's username: its naming value when it has several."""
        values = entry.values(self.layout.username_attribute)
        if len(values) <= 1:
            return values[0] if values else None
        try:
            attribute, value, _ = parse_dn(entry.dn, escape=False)[0]
        except LDAPException:  # a DN ldap3 cannot parse: fall back to the first value
            return values[0]
        if attribute.lower() == self.layout.username_attribute.lower() and value in values:
            return value
        return values[0]

    def _to_user(self, entry: _Entry, username: str) -> User:
        layout = self.layout
        return User(userid=entry.integer(layout.userid_attribute) or 0, username=username,
                    email=entry.first(layout.email_attribute),
                    disabled=bool(entry.values(layout.disabled_attribute)),
                    credential_version=_credential_version(entry))

    def _new_entry_attributes(self, username: str, userid: int, email: str | None,
                              password: str) -> dict[str, Any]:
        layout = self.layout
        attributes: dict[str, Any] = {}
        for name, template in layout.extra_attributes:
            attributes.setdefault(name, []).append(template.replace("{username}", username))
        attributes.update({
            "objectClass": list(layout.object_classes),
            layout.username_attribute: [username],
            layout.userid_attribute: [str(userid)],
        })
        if email:
            attributes[layout.email_attribute] = [email]
        if self.password_scheme != "directory":
            attributes["userPassword"] = [self._hash_here(password)]
        return attributes

    def _set_password_in_directory(self, conn: ldap3.Connection, username: str, dn: str,
                                   password: str) -> None:
        """RFC 3062 Password Modify: the directory hashes by its own policy."""
        conn.extend.standard.modify_password(user=dn, new_password=password.encode("utf-8"))
        if conn.result.get("result") == NO_SUCH_OBJECT:
            raise UserNotFound(username)
        _check(conn, f"set the password of {dn}")

    def _hash_here(self, password: str) -> str:
        if self.password_scheme == "argon2":
            return "{ARGON2}" + self.hashing.hash(password)
        salt = os.urandom(16)
        digest = hashlib.sha1(password.encode("utf-8") + salt).digest()
        return "{SSHA}" + base64.b64encode(digest + salt).decode("ascii")

    def _allocate_userid(self, conn: ldap3.Connection) -> int:
        """The next free numeric id, taken from the counter entry.

        Compare-and-swap: one modify deletes the value that was read and
        adds its successor. A concurrent allocator that read the same value
        finds it gone (noSuchAttribute) and tries again.
        """
        layout = self.layout
        attribute = layout.userid_attribute
        for attempt in range(_ALLOCATION_ATTEMPTS):
            current = self._read_counter(conn)
            if current is None:
                start = max(layout.first_userid, self._highest_userid(conn) + 1)
                conn.add(layout.counter_dn, attributes={
                    "objectClass": ["applicationProcess", "extensibleObject"],
                    "cn": [parse_dn(layout.counter_dn, escape=False)[0][1]],
                    attribute: [str(start + 1)]})
                if conn.result.get("result") == SUCCESS:
                    return start
                if conn.result.get("result") != ENTRY_ALREADY_EXISTS:
                    _check(conn, f"create the user id counter {layout.counter_dn}")
                continue
            conn.modify(layout.counter_dn, {attribute: [
                (ldap3.MODIFY_DELETE, [str(current)]), (ldap3.MODIFY_ADD, [str(current + 1)])]})
            code = conn.result.get("result")
            if code == SUCCESS:
                return current
            if code not in (NO_SUCH_ATTRIBUTE, NO_SUCH_OBJECT):
                _check(conn, f"update the user id counter {layout.counter_dn}")
            # Lost the race: back off a little, more after each loss.
            time.sleep(random.uniform(0, 0.002 * (attempt + 1)))
        raise BackendConflict("could not allocate a user id: too many concurrent creations")

    def _read_counter(self, conn: ldap3.Connection) -> int | None:
        conn.search(self.layout.counter_dn, "(objectClass=*)", search_scope=ldap3.BASE,
                    attributes=[self.layout.userid_attribute])
        if conn.result.get("result") == NO_SUCH_OBJECT:
            return None
        _check(conn, f"read the user id counter {self.layout.counter_dn}")
        for item in conn.response or ():
            if item.get("type") == "searchResEntry":
                for key, values in item["raw_attributes"].items():
                    if key.lower() == self.layout.userid_attribute.lower() and values:
                        return int(values[0])
        raise BackendError(f"the user id counter {self.layout.counter_dn} holds no "
                           f"{self.layout.userid_attribute}")

    def _highest_userid(self, conn: ldap3.Connection) -> int:
        highest = 0
        attribute = self.layout.userid_attribute
        for entry in self._search(conn, f"(&{self.layout.user_filter}({attribute}=*))",
                                  paged=True):
            highest = max(highest, entry.integer(attribute) or 0)
        return highest


def _credential_version(entry: _Entry) -> str:
    """Changes whenever the password does (see the module docstring)."""
    material = (entry.attributes.get("userpassword") or entry.attributes.get("entrycsn")
                or entry.attributes.get("modifytimestamp") or [entry.dn.encode("utf-8")])
    return hashlib.sha256(b"\x00".join(sorted(material))).hexdigest()[:16]


def _require_password(password: str) -> None:
    # An empty simple bind is an anonymous bind, so an empty password could
    # never be checked; the Password Modify operation would invent one.
    if not password:
        raise ValueError("the LDAP user store needs a non-empty password")


def _check(conn: ldap3.Connection, doing: str, email_given: bool = False) -> None:
    """Raise for any result but success: the directory refused ``doing``.

    ``email_given``: the operation wrote an e-mail address, so an attribute
    syntax error is that address (``mail`` is ASCII only), not a fault.
    """
    result = conn.result or {}
    code = result.get("result")
    if code == SUCCESS:
        return
    message = f"LDAP could not {doing}: {result.get('description')} ({code}) " \
              f"{result.get('message') or ''}".rstrip()
    if code == INVALID_ATTRIBUTE_SYNTAX and email_given:
        raise InvalidEmail(message)
    raise BackendError(message)


def _delete_quietly(conn: ldap3.Connection, dn: str) -> None:
    with contextlib.suppress(Exception):  # the original failure matters more
        conn.delete(dn)


def parse_extra_attributes(text: str | Sequence[str]) -> tuple[tuple[str, str], ...]:
    """``name: value`` lines (``name=value`` also accepted) -> pairs."""
    lines = text.splitlines() if isinstance(text, str) else list(text)
    pairs = []
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        separator = ":" if ":" in line.split("=", 1)[0] else "="
        name, found, value = line.partition(separator)
        if not found or not name.strip() or not value.strip():
            raise ConfigurationError(f"ldap.extra_attributes: cannot read {line!r}; "
                                     "write one 'attribute: value' per line")
        pairs.append((name.strip(), value.strip()))
    return tuple(pairs)


def load_from_config(settings: dict[str, Any]) -> LDAPUserBackend:
    base_dn = (settings.get("ldap.users_base_dn") or "").strip()
    if not base_dn:
        raise ConfigurationError("users.backend is synccore.users.ldap but ldap.users_base_dn "
                                 "is not set")
    urls = tuple(settings["ldap.urls"])
    for url in urls:
        if not url.lower().startswith(("ldap://", "ldaps://")):
            raise ConfigurationError(f"ldap.urls: {url!r} is not an ldap:// or ldaps:// URL")
    if not urls:
        raise ConfigurationError("ldap.urls is empty")
    if settings["ldap.pool_size"] < 1:
        raise ConfigurationError("ldap.pool_size must be at least 1")
    scheme = settings["ldap.password_scheme"].strip().lower()
    if scheme not in PASSWORD_SCHEMES:
        raise ConfigurationError(f"ldap.password_scheme must be one of {PASSWORD_SCHEMES}")
    layout = DirectoryLayout(
        users_base_dn=base_dn,
        user_filter=_parenthesised(settings["ldap.user_filter"]),
        object_classes=tuple(settings["ldap.object_classes"]),
        username_attribute=settings["ldap.username_attribute"],
        email_attribute=settings["ldap.email_attribute"],
        userid_attribute=settings["ldap.userid_attribute"],
        userid_counter_dn=settings["ldap.userid_counter_dn"],
        first_userid=settings["ldap.first_userid"],
        disabled_attribute=settings["ldap.disabled_attribute"],
        disabled_value=settings["ldap.disabled_value"],
        extra_attributes=parse_extra_attributes(settings["ldap.extra_attributes"]),
        page_size=settings["ldap.page_size"])
    options = ServerOptions(
        urls=urls,
        connect_timeout_seconds=settings["ldap.connect_timeout_seconds"],
        receive_timeout_seconds=settings["ldap.receive_timeout_seconds"],
        start_tls=settings["ldap.start_tls"],
        tls_ca_file=settings["ldap.tls_ca_file"] or None)
    pool_options = {"size": settings["ldap.pool_size"],
                    "checkout_timeout_seconds": settings["ldap.pool_timeout_seconds"]}
    admin_pool = LDAPPool(options, bind_dn=settings["ldap.bind_dn"] or None,
                          bind_password=settings["ldap.bind_password"] or None, **pool_options)
    bind_pool = LDAPPool(options, **pool_options)
    hashing = PasswordHashing(HashingParameters(
        time_cost=settings["auth.argon2_time_cost"],
        memory_cost_kib=settings["auth.argon2_memory_kib"],
        parallelism=settings["auth.argon2_parallelism"]))
    return LDAPUserBackend(layout, admin_pool, bind_pool, scheme, hashing)


def _parenthesised(search_filter: str) -> str:
    search_filter = search_filter.strip()
    return search_filter if search_filter.startswith("(") else f"({search_filter})"
