"""The LDAP user store against a real slapd: the user-backend conformance
suite for each password scheme, then what only a directory has (its entry
layout, id allocation, access controls, outages, fail-over, settings)."""
from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

pytest.register_assert_rewrite("synccore.users.testing")

from synccore import SETTINGS  # noqa: E402
from synccore.exceptions import BackendError  # noqa: E402
from synccore.settings import ConfigurationError, parse_settings  # noqa: E402
from synccore.testing import FAST_HASHING  # noqa: E402
from synccore.users import InvalidEmail, UserExists, UserNotFound  # noqa: E402
from synccore.users.ldap import (  # noqa: E402
    LDAPUserBackend,
    load_from_config,
    parse_extra_attributes,
)
from synccore.users.slapd import SlapdServer, free_port, make_test_certificates  # noqa: E402
from synccore.users.testing import PASSWORD, UserBackendTests  # noqa: E402

OTHER_PASSWORD = "another secret 42"


def make_backend(settings: dict[str, str]) -> LDAPUserBackend:
    """The backend as the application loads it, with cheap argon2 parameters."""
    return load_from_config(parse_settings({**FAST_HASHING, **settings}, SETTINGS, environ={}))


@pytest.fixture
def new_backend() -> Iterator:
    """Builds backends from settings and closes their connections afterwards."""
    made: list[LDAPUserBackend] = []

    def build(settings: dict[str, str]) -> LDAPUserBackend:
        made.append(make_backend(settings))
        return made[-1]

    yield build
    for backend in made:
        backend.close()


@pytest.fixture
def users_base(slapd) -> str:
    return slapd.new_users_base()


@pytest.fixture
def backend(slapd, users_base, new_backend) -> LDAPUserBackend:
    return new_backend(slapd.settings(users_base))


def require_argon2(server: SlapdServer) -> None:
    if not server.tools.has_argon2:
        pytest.skip("slapd's argon2 module is not installed")


class TestLDAPUserBackend(UserBackendTests):
    # uid matches without regard to case, so "Alice" is taken once "alice" exists.
    case_variants_coexist = False

    @pytest.fixture(params=["directory", "argon2", "ssha"])
    def backend(self, request, slapd, users_base, new_backend) -> LDAPUserBackend:
        if request.param == "argon2":
            require_argon2(slapd)
        return new_backend(slapd.settings(users_base,
                                          **{"ldap.password_scheme": request.param}))


# -- how accounts look in the directory ----------------------------------------

def test_new_entry_layout(slapd, users_base, backend):
    user = backend.create_user("alice", PASSWORD, "alice@example.com")
    dn = f"uid=alice,{users_base}"
    classes = {value.decode().lower() for value in slapd.read_attribute(dn, "objectClass")}
    assert {"inetorgperson", "posixaccount", "shadowaccount"} <= classes
    assert slapd.read_attribute(dn, "uidNumber") == [str(user.userid).encode()]
    assert slapd.read_attribute(dn, "mail") == [b"alice@example.com"]
    assert slapd.read_attribute(dn, "cn") == [b"alice"]
    assert slapd.read_attribute(dn, "homeDirectory") == [b"/nonexistent"]
    backend.set_disabled("alice", True)
    assert slapd.read_attribute(dn, "shadowExpire") == [b"1"]
    backend.set_disabled("alice", False)
    assert slapd.read_attribute(dn, "shadowExpire") == []


@pytest.mark.parametrize(("scheme", "prefix"), [("directory", b"{SSHA}"),
                                                ("ssha", b"{SSHA}"),
                                                ("argon2", b"{ARGON2}$argon2id$")])
def test_passwords_are_stored_hashed(slapd, users_base, scheme, prefix, new_backend):
    if scheme == "argon2":
        require_argon2(slapd)
    backend = new_backend(slapd.settings(users_base, **{"ldap.password_scheme": scheme}))
    backend.create_user("alice", PASSWORD)
    backend.set_password("alice", OTHER_PASSWORD)
    stored = slapd.read_attribute(f"uid=alice,{users_base}", "userPassword")
    assert len(stored) == 1 and stored[0].startswith(prefix)
    assert PASSWORD.encode() not in stored[0] and OTHER_PASSWORD.encode() not in stored[0]
    assert backend.authenticate("alice", OTHER_PASSWORD) is not None


def test_directory_hashing_follows_the_directory_policy(slapd_tools, tmp_path, new_backend):
    """With the default scheme the directory's own policy ({ARGON2} here) applies."""
    if not slapd_tools.has_argon2:
        pytest.skip("slapd's argon2 module is not installed")
    with SlapdServer(tmp_path / "slapd", tools=slapd_tools, password_hash="{ARGON2}") as server:
        base = server.new_users_base()
        backend = new_backend(server.settings(base))
        backend.create_user("alice", "ééééééééé")
        assert server.read_attribute(f"uid=alice,{base}", "userPassword")[0] \
            .startswith(b"{ARGON2}")
        assert backend.authenticate("alice", "ééééééééé") is not None
        assert backend.authenticate("alice", "eeeeeeeee") is None


def test_extra_attributes_and_object_classes_are_settings(slapd, users_base, new_backend):
    backend = new_backend(slapd.settings(users_base, **{
        "ldap.object_classes": "inetOrgPerson posixAccount",
        "ldap.extra_attributes": "cn: Sync {username}\nsn={username}\ngidNumber: 500\n"
                                 "homeDirectory: /home/{username}\ndescription: sync account",
        "ldap.disabled_attribute": "employeeType",
        "ldap.disabled_value": "disabled"}))
    backend.create_user("alice", PASSWORD)
    dn = f"uid=alice,{users_base}"
    assert slapd.read_attribute(dn, "cn") == [b"Sync alice"]
    assert slapd.read_attribute(dn, "homeDirectory") == [b"/home/alice"]
    assert slapd.read_attribute(dn, "description") == [b"sync account"]
    backend.set_disabled("alice", True)
    assert slapd.read_attribute(dn, "employeeType") == [b"disabled"]
    assert backend.authenticate("alice", PASSWORD) is None


def test_non_ascii_email_is_refused_as_bad_data(backend):
    """inetOrgPerson's mail holds ASCII only; the account stays as it was."""
    backend.create_user("alice", PASSWORD, "alice@example.com")
    with pytest.raises(InvalidEmail):
        backend.set_email("alice", "élodie@example.com")
    with pytest.raises(InvalidEmail):
        backend.create_user("bob", PASSWORD, "bob@exämple.com")
    assert backend.get_user("alice").email == "alice@example.com"
    assert backend.get_user("bob") is None


# -- accounts that were in the directory before -----------------------------------

def _add_entry(slapd, dn: str, uid: str, uid_number: int, password: str | None = None) -> None:
    conn = slapd.admin_connection()
    attributes = {"objectClass": ["inetOrgPerson", "posixAccount"], "cn": [uid], "sn": [uid],
                  "uid": [uid], "uidNumber": [str(uid_number)], "gidNumber": ["100"],
                  "homeDirectory": [f"/home/{uid}"]}
    if password is not None:
        attributes["userPassword"] = [password]
    try:
        conn.add(dn, attributes=attributes)
    finally:
        conn.unbind()


def test_existing_entries_are_accounts_and_ids_continue_after_them(slapd, users_base,
                                                                   backend):
    conn = slapd.admin_connection()
    conn.add(f"ou=staff,{users_base}", attributes={"objectClass": ["organizationalUnit"],
                                                   "ou": ["staff"]})
    conn.unbind()
    _add_entry(slapd, f"uid=carol,ou=staff,{users_base}", "carol", 20500, password="carol pw")
    carol = backend.get_user("carol")
    assert carol is not None and carol.userid == 20500
    assert backend.authenticate("carol", "carol pw") == carol
    new = backend.create_user("dave", PASSWORD)
    assert new.userid == 20501
    # A name used anywhere under the base is taken, even in another case.
    with pytest.raises(UserExists):
        backend.create_user("CAROL", PASSWORD)
    assert [user.username for user in backend.iter_users()] == ["carol", "dave"]


def test_first_userid_setting(slapd, users_base, new_backend):
    backend = new_backend(slapd.settings(users_base, **{"ldap.first_userid": "500"}))
    assert [backend.create_user(name, PASSWORD).userid for name in "abc"] == [500, 501, 502]


def test_entries_without_a_numeric_id_are_not_accounts(slapd, users_base, backend):
    conn = slapd.admin_connection()
    conn.add(f"uid=erin,{users_base}", attributes={
        "objectClass": ["inetOrgPerson"], "cn": ["erin"], "sn": ["erin"], "uid": ["erin"],
        "userPassword": ["erin pw"]})
    conn.unbind()
    assert backend.get_user("erin") is None
    assert backend.authenticate("erin", "erin pw") is None
    assert list(backend.iter_users()) == []


def test_many_concurrent_creations_get_distinct_ids(backend):
    results: list = []
    lock = threading.Lock()

    def create(index: int) -> None:
        for round_ in range(3):
            user = backend.create_user(f"u{index}-{round_}", PASSWORD)
            with lock:
                results.append(user.userid)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 36 and len(set(results)) == 36
    assert len(list(backend.iter_users())) == 36


# -- the password is checked by binding, never read ----------------------------------

def test_works_when_the_service_account_cannot_read_passwords(slapd_tools, tmp_path, new_backend):
    with SlapdServer(tmp_path / "slapd", tools=slapd_tools,
                     service_reads_passwords=False) as server:
        base = server.new_users_base()
        backend = new_backend(server.settings(base))
        created = backend.create_user("alice", PASSWORD)
        assert server.read_attribute(f"uid=alice,{base}", "userPassword",
                                     as_service=True) == []
        assert backend.authenticate("alice", PASSWORD) == created
        backend.set_password("alice", OTHER_PASSWORD)
        assert backend.authenticate("alice", PASSWORD) is None
        changed = backend.authenticate("alice", OTHER_PASSWORD)
        assert changed.credential_version != created.credential_version
        assert backend.get_user("alice").credential_version == changed.credential_version


# -- outages ---------------------------------------------------------------------------

def _every_operation(backend: LDAPUserBackend) -> list:
    return [lambda: backend.get_user("alice"), lambda: backend.get_user_by_id(10000),
            lambda: backend.authenticate("alice", PASSWORD),
            lambda: backend.create_user("bob", PASSWORD),
            lambda: backend.set_password("alice", OTHER_PASSWORD),
            lambda: backend.set_email("alice", None),
            lambda: backend.set_disabled("alice", True),
            lambda: backend.delete_user("alice"), lambda: list(backend.iter_users()),
            backend.ping]


def test_stopped_directory_raises_backend_error_and_recovers(private_slapd, new_backend):
    backend = new_backend(private_slapd.settings(private_slapd.new_users_base()))
    backend.create_user("alice", PASSWORD)
    assert backend.authenticate("alice", PASSWORD) is not None
    private_slapd.stop()
    for operation in _every_operation(backend):
        with pytest.raises(BackendError):
            operation()
    private_slapd.start()
    # The pooled connections died with the server; fresh ones are opened.
    assert backend.authenticate("alice", PASSWORD) is not None
    backend.ping()


def test_restarted_directory_is_used_without_errors(private_slapd, new_backend):
    """Idle pooled connections closed by a restart are replaced, not used."""
    backend = new_backend(private_slapd.settings(private_slapd.new_users_base()))
    backend.create_user("alice", PASSWORD)
    for _ in range(3):
        assert backend.authenticate("alice", PASSWORD) is not None
    private_slapd.stop()
    private_slapd.start()
    assert backend.get_user("alice") is not None
    assert backend.authenticate("alice", PASSWORD) is not None
    backend.set_email("alice", "new@example.com")


def test_frozen_directory_times_out_with_backend_error(private_slapd, new_backend):
    backend = new_backend(private_slapd.settings(private_slapd.new_users_base(), **{
        "ldap.receive_timeout_seconds": "1", "ldap.connect_timeout_seconds": "1"}))
    backend.create_user("alice", PASSWORD)
    private_slapd.pause()
    try:
        with pytest.raises(BackendError):
            backend.authenticate("alice", PASSWORD)
        with pytest.raises(BackendError):
            backend.create_user("bob", PASSWORD)
    finally:
        private_slapd.resume()
    assert backend.authenticate("alice", PASSWORD) is not None


def test_no_directory_at_all(users_base, new_backend):
    backend = new_backend({"users.backend": "synccore.users.ldap",
                            "ldap.urls": f"ldap://127.0.0.1:{free_port()}",
                            "ldap.users_base_dn": users_base,
                            "ldap.connect_timeout_seconds": "1"})
    for operation in _every_operation(backend):
        with pytest.raises(BackendError):
            operation()


def test_fails_over_to_the_next_url(slapd, users_base, new_backend):
    backend = new_backend(slapd.settings(users_base, **{
        "ldap.urls": f"ldap://127.0.0.1:{free_port()}, {slapd.url}"}))
    backend.create_user("alice", PASSWORD)
    assert backend.authenticate("alice", PASSWORD) is not None


def test_wrong_service_password_is_a_backend_error(slapd, users_base, new_backend):
    backend = new_backend(slapd.settings(users_base, **{"ldap.bind_password": "wrong"}))
    with pytest.raises(BackendError, match="bind as"):
        backend.ping()
    with pytest.raises(BackendError):
        backend.get_user("alice")


def test_missing_users_base_is_a_backend_error(slapd, new_backend):
    backend = new_backend(slapd.settings(f"ou=missing,{slapd.suffix}"))
    with pytest.raises(BackendError):
        backend.ping()
    with pytest.raises(BackendError):
        backend.create_user("alice", PASSWORD)


def test_exhausted_pool_is_a_backend_error(slapd, users_base, new_backend):
    backend = new_backend(slapd.settings(users_base, **{
        "ldap.pool_size": "1", "ldap.pool_timeout_seconds": "0.2"}))
    backend.create_user("alice", PASSWORD)
    with backend.admin_pool.connection(), pytest.raises(BackendError, match="busy"):
        backend.get_user("alice")
    assert backend.get_user("alice") is not None


def test_user_errors_do_not_cost_pooled_connections(slapd, users_base, new_backend):
    backend = new_backend(slapd.settings(users_base, **{"ldap.pool_size": "1"}))
    for _ in range(5):
        with pytest.raises(UserNotFound):
            backend.set_password("nobody", PASSWORD)
    assert backend.create_user("alice", PASSWORD).username == "alice"


# -- settings -----------------------------------------------------------------------------

@pytest.mark.parametrize(("overrides", "message"), [
    ({"ldap.users_base_dn": ""}, "users_base_dn"),
    ({"ldap.urls": "http://127.0.0.1:389"}, "ldap.urls"),
    ({"ldap.urls": ""}, "ldap.urls"),
    ({"ldap.password_scheme": "md5"}, "password_scheme"),
    ({"ldap.pool_size": "0"}, "pool_size"),
    ({"ldap.extra_attributes": "just words"}, "extra_attributes"),
])
def test_bad_settings_fail_at_start_up(overrides, message, new_backend):
    settings = {"users.backend": "synccore.users.ldap", "ldap.users_base_dn": "ou=users,dc=x",
                **overrides}
    with pytest.raises(ConfigurationError, match=message):
        new_backend(settings)


def test_parse_extra_attributes():
    assert parse_extra_attributes("cn: {username}\n\n# a comment\nsn={username}\n"
                                  "description: a: b = c") == (
        ("cn", "{username}"), ("sn", "{username}"), ("description", "a: b = c"))


# -- TLS ----------------------------------------------------------------------------------

@pytest.fixture
def tls_slapd(slapd_tools, tmp_path) -> Iterator[SlapdServer]:
    tls = make_test_certificates(tmp_path / "tls")
    with SlapdServer(tmp_path / "slapd", tools=slapd_tools, tls=tls) as server:
        yield server


def test_ldaps_with_the_directory_certificate_authority(tls_slapd, new_backend):
    backend = new_backend(tls_slapd.settings(tls_slapd.new_users_base(), **{
        "ldap.urls": tls_slapd.tls_url, "ldap.tls_ca_file": tls_slapd.tls.ca_file}))
    backend.create_user("alice", PASSWORD)
    assert backend.authenticate("alice", PASSWORD) is not None
    assert backend.authenticate("alice", OTHER_PASSWORD) is None


def test_start_tls_with_the_directory_certificate_authority(tls_slapd, new_backend):
    backend = new_backend(tls_slapd.settings(tls_slapd.new_users_base(), **{
        "ldap.start_tls": "true", "ldap.tls_ca_file": tls_slapd.tls.ca_file}))
    backend.create_user("alice", PASSWORD)
    assert backend.authenticate("alice", PASSWORD) is not None


@pytest.mark.parametrize("start_tls", [False, True])
def test_untrusted_directory_certificate_is_refused(tls_slapd, new_backend, start_tls):
    """Without the private CA the certificate is not trusted: no password is sent."""
    url = tls_slapd.url if start_tls else tls_slapd.tls_url
    backend = new_backend(tls_slapd.settings(tls_slapd.new_users_base(), **{
        "ldap.urls": url, "ldap.start_tls": str(start_tls)}))
    with pytest.raises(BackendError, match="CERTIFICATE_VERIFY_FAILED"):
        backend.ping()
    with pytest.raises(BackendError, match="CERTIFICATE_VERIFY_FAILED"):
        backend.authenticate("alice", PASSWORD)
