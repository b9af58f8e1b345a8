"""The conformance suite every ``UserBackend`` must pass.

Mix ``UserBackendTests`` into a pytest class that provides a ``backend``
fixture returning a store with no accounts; every test below then runs
against that store::

    class TestMyUsers(UserBackendTests):
        @pytest.fixture
        def backend(self):
            return MyUserBackend(...)

The tests speak only through the contract in ``synccore.users``, so a
backend that passes them can replace any other.
"""
from __future__ import annotations

import random
import threading
from collections.abc import Callable
from typing import Any

import pytest

from synccore.users import User, UserBackend, UserExists, UserNotFound

PASSWORD = "correct horse battery"
OTHER_PASSWORD = "another secret 42"


def run_in_threads(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run ``work(i)`` in ``count`` threads released together; results or exceptions."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def runner(index: int) -> None:
        barrier.wait()
        try:
            results[index] = work(index)
        except Exception as exc:  # collected and judged by the test
            results[index] = exc

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


class UserBackendTests:
    """Tests of the ``UserBackend`` contract; needs a ``backend`` fixture."""

    # Whether two names that differ only in case can be two accounts. The
    # contract requires exact, case-sensitive matching everywhere; a
    # directory whose naming attribute ignores case (LDAP's uid) refuses the
    # second name as taken instead of creating it.
    case_variants_coexist = True

    # -- creating and reading -------------------------------------------------

    def test_create_returns_the_account(self, backend: UserBackend):
        user = backend.create_user("alice", PASSWORD, "alice@example.com")
        assert isinstance(user, User)
        assert user.username == "alice"
        assert user.email == "alice@example.com"
        assert not user.disabled
        assert isinstance(user.userid, int) and user.userid > 0
        assert user.credential_version

    def test_get_user_and_get_user_by_id_agree_with_create(self, backend: UserBackend):
        created = backend.create_user("alice", PASSWORD, "alice@example.com")
        assert backend.get_user("alice") == created
        assert backend.get_user_by_id(created.userid) == created

    def test_email_is_optional(self, backend: UserBackend):
        backend.create_user("alice", PASSWORD)
        assert backend.get_user("alice").email is None

    def test_userids_are_distinct(self, backend: UserBackend):
        ids = {backend.create_user(name, PASSWORD).userid for name in ("a", "b", "c", "d")}
        assert len(ids) == 4

    def test_a_32_character_username(self, backend: UserBackend):
        name = "kzyvtvrc765vbmi3b36ta67dlbreujxo"  # derived from test@example.com
        backend.create_user(name, PASSWORD, "test@example.com")
        assert backend.get_user(name).username == name
        assert backend.authenticate(name, PASSWORD).username == name

    def test_unknown_user_reads_as_none(self, backend: UserBackend):
        assert backend.get_user("nobody") is None
        created = backend.create_user("alice", PASSWORD)
        assert backend.get_user_by_id(created.userid + 1000) is None

    def test_duplicate_name_raises_user_exists(self, backend: UserBackend):
        original = backend.create_user("alice", PASSWORD, "first@example.com")
        with pytest.raises(UserExists):
            backend.create_user("alice", OTHER_PASSWORD, "second@example.com")
        assert backend.get_user("alice") == original
        assert backend.authenticate("alice", PASSWORD) is not None
        assert backend.authenticate("alice", OTHER_PASSWORD) is None

    # -- passwords ------------------------------------------------------------------

    def test_right_password_authenticates(self, backend: UserBackend):
        created = backend.create_user("alice", PASSWORD, "alice@example.com")
        assert backend.authenticate("alice", PASSWORD) == created

    @pytest.mark.parametrize("attempt", ["wrong password", PASSWORD.upper(), PASSWORD + " ",
                                         " " + PASSWORD, PASSWORD[:-1], ""])
    def test_wrong_password_is_refused(self, backend: UserBackend, attempt: str):
        backend.create_user("alice", PASSWORD)
        assert backend.authenticate("alice", attempt) is None

    def test_unknown_user_is_refused(self, backend: UserBackend):
        backend.create_user("alice", PASSWORD)
        assert backend.authenticate("bob", PASSWORD) is None
        assert backend.authenticate("", PASSWORD) is None

    @pytest.mark.parametrize("password", [
        "ééééééééé",
        "pässwörd ✓ Grüße",
        "密码密码密码密码",
        "🔑 unlock 🔓",
        "ﬁve ﬁne ﬁsh",  # ligatures that Unicode normalisation would rewrite
        "tab\there",
        "a:b:c",
        ":leading colon",
        "trailing colon:",
        "  spaces around  ",
    ])
    def test_unusual_passwords_work_exactly(self, backend: UserBackend, password: str):
        backend.create_user("alice", password)
        assert backend.authenticate("alice", password) is not None
        backend.set_password("alice", password + "!")
        assert backend.authenticate("alice", password + "!") is not None
        assert backend.authenticate("alice", password) is None

    def test_passwords_are_not_normalised(self, backend: UserBackend):
        backend.create_user("alice", "ﬁve ﬁne ﬁsh")
        assert backend.authenticate("alice", "five fine fish") is None
        backend.create_user("bob", "cafe\u0301 cafe\u0301")  # e + combining accent
        assert backend.authenticate("bob", "caf\u00e9 caf\u00e9") is None
        assert backend.authenticate("bob", "cafe\u0301 cafe\u0301") is not None

    def test_set_password_replaces_the_credential(self, backend: UserBackend):
        created = backend.create_user("alice", PASSWORD)
        backend.set_password("alice", OTHER_PASSWORD)
        assert backend.authenticate("alice", PASSWORD) is None
        changed = backend.authenticate("alice", OTHER_PASSWORD)
        assert changed is not None
        assert changed.userid == created.userid
        assert changed.credential_version != created.credential_version
        assert backend.get_user("alice").credential_version == changed.credential_version

    def test_each_password_change_gives_a_new_credential_version(self, backend: UserBackend):
        versions = [backend.create_user("alice", PASSWORD).credential_version]
        for password in ("second password", "third password", PASSWORD):
            backend.set_password("alice", password)
            versions.append(backend.get_user("alice").credential_version)
        assert len(set(versions)) == len(versions)

    def test_credential_version_is_stable_without_changes(self, backend: UserBackend):
        backend.create_user("alice", PASSWORD)
        first = backend.get_user("alice").credential_version
        assert backend.get_user("alice").credential_version == first
        assert backend.authenticate("alice", PASSWORD).credential_version == first

    def test_set_password_leaves_other_accounts_alone(self, backend: UserBackend):
        backend.create_user("alice", PASSWORD)
        bob = backend.create_user("bob", PASSWORD)
        backend.set_password("alice", OTHER_PASSWORD)
        assert backend.authenticate("bob", PASSWORD) == bob

    # -- e-mail, disabling, deleting ----------------------------------------------

    def test_set_email(self, backend: UserBackend):
        backend.create_user("alice", PASSWORD, "old@example.com")
        backend.set_email("alice", "new@example.com")
        assert backend.get_user("alice").email == "new@example.com"
        backend.set_email("alice", None)
        assert backend.get_user("alice").email is None
        backend.set_email("alice", "again@example.com")
        assert backend.get_user("alice").email == "again@example.com"
        assert backend.authenticate("alice", PASSWORD).email == "again@example.com"

    def test_disabled_account_cannot_authenticate(self, backend: UserBackend):
        backend.create_user("alice", PASSWORD)
        backend.set_disabled("alice", True)
        assert backend.get_user("alice").disabled
        assert backend.authenticate("alice", PASSWORD) is None
        backend.set_disabled("alice", False)
        assert not backend.get_user("alice").disabled
        assert backend.authenticate("alice", PASSWORD) is not None

    def test_disabling_twice_and_enabling_twice_are_harmless(self, backend: UserBackend):
        backend.create_user("alice", PASSWORD)
        backend.set_disabled("alice", True)
        backend.set_disabled("alice", True)
        assert backend.get_user("alice").disabled
        backend.set_disabled("alice", False)
        backend.set_disabled("alice", False)
        assert backend.authenticate("alice", PASSWORD) is not None

    def test_delete_user(self, backend: UserBackend):
        alice = backend.create_user("alice", PASSWORD)
        bob = backend.create_user("bob", PASSWORD)
        backend.delete_user("alice")
        assert backend.get_user("alice") is None
        assert backend.get_user_by_id(alice.userid) is None
        assert backend.authenticate("alice", PASSWORD) is None
        assert list(backend.iter_users()) == [bob]
        with pytest.raises(UserNotFound):
            backend.delete_user("alice")

    def test_a_deleted_name_can_be_registered_again(self, backend: UserBackend):
        backend.create_user("alice", PASSWORD, "old@example.com")
        backend.delete_user("alice")
        again = backend.create_user("alice", OTHER_PASSWORD)
        assert again.email is None
        assert backend.authenticate("alice", PASSWORD) is None
        assert backend.authenticate("alice", OTHER_PASSWORD) == again

    @pytest.mark.parametrize("operation", ["set_password", "set_email", "set_disabled",
                                           "delete_user"])
    def test_changing_an_unknown_user_raises_user_not_found(self, backend: UserBackend,
                                                            operation: str):
        backend.create_user("alice", PASSWORD)
        arguments = {"set_password": (OTHER_PASSWORD,), "set_email": ("x@example.com",),
                     "set_disabled": (True,), "delete_user": ()}[operation]
        with pytest.raises(UserNotFound):
            getattr(backend, operation)("bob", *arguments)
        assert backend.authenticate("alice", PASSWORD) is not None

    # -- listing ----------------------------------------------------------------------

    def test_iter_users_of_an_empty_store(self, backend: UserBackend):
        assert list(backend.iter_users()) == []

    def test_iter_users_is_ordered_by_username(self, backend: UserBackend):
        names = ["mike", "alpha", "zulu", "a.b", "a-b", "a_b", "a0", "b", "alpha2"]
        shuffled = list(names)
        random.Random(7).shuffle(shuffled)
        created = {name: backend.create_user(name, PASSWORD, f"{name}@example.com")
                   for name in shuffled}
        listed = list(backend.iter_users())
        assert [user.username for user in listed] == sorted(names)
        assert listed == [created[name] for name in sorted(names)]

    def test_iter_users_shows_disabled_accounts(self, backend: UserBackend):
        backend.create_user("alice", PASSWORD)
        backend.set_disabled("alice", True)
        assert [user.disabled for user in backend.iter_users()] == [True]

    # -- exact names -----------------------------------------------------------------

    @pytest.mark.parametrize("variant", ["Alice", "ALICE", "alice ", " alice", "alic", "alice2",
                                         "ali*", "*", "alice)(uid=*", "alice\\", "al%ce"])
    def test_names_match_exactly(self, backend: UserBackend, variant: str):
        alice = backend.create_user("alice", PASSWORD)
        assert backend.get_user(variant) is None
        assert backend.authenticate(variant, PASSWORD) is None
        for change, arguments in (("set_password", (OTHER_PASSWORD,)),
                                  ("set_email", ("x@example.com",)),
                                  ("set_disabled", (True,)), ("delete_user", ())):
            with pytest.raises(UserNotFound):
                getattr(backend, change)(variant, *arguments)
        assert backend.get_user("alice") == alice
        assert backend.authenticate("alice", PASSWORD) == alice

    def test_names_differing_in_case(self, backend: UserBackend):
        alice = backend.create_user("alice", PASSWORD)
        if self.case_variants_coexist:
            other = backend.create_user("Alice", OTHER_PASSWORD)
            assert other.userid != alice.userid
            assert backend.authenticate("Alice", OTHER_PASSWORD) == other
            assert backend.authenticate("Alice", PASSWORD) is None
            assert backend.authenticate("alice", OTHER_PASSWORD) is None
            backend.delete_user("Alice")
        else:
            with pytest.raises(UserExists):
                backend.create_user("Alice", OTHER_PASSWORD)
            assert backend.get_user("Alice") is None
        assert backend.get_user("alice") == alice
        assert backend.authenticate("alice", PASSWORD) == alice

    # -- concurrency -----------------------------------------------------------------

    def test_concurrent_creations_of_one_name_exactly_one_wins(self, backend: UserBackend):
        results = run_in_threads(8, lambda i: backend.create_user("alice", f"password {i}"))
        winners = [result for result in results if isinstance(result, User)]
        losers = [result for result in results if isinstance(result, UserExists)]
        assert len(winners) == 1, results
        assert len(losers) == 7, results
        winner_index = results.index(winners[0])
        assert backend.get_user("alice") == winners[0]
        assert backend.authenticate("alice", f"password {winner_index}") == winners[0]
        assert [user.username for user in backend.iter_users()] == ["alice"]

    def test_concurrent_creations_of_different_names_get_distinct_ids(
            self, backend: UserBackend):
        results = run_in_threads(8, lambda i: backend.create_user(f"user{i}", PASSWORD))
        assert all(isinstance(result, User) for result in results), results
        assert len({user.userid for user in results}) == 8
        for user in results:
            assert backend.get_user_by_id(user.userid) == user

    def test_concurrent_password_checks(self, backend: UserBackend):
        backend.create_user("alice", PASSWORD)
        backend.create_user("bob", OTHER_PASSWORD)
        results = run_in_threads(8, lambda i: backend.authenticate(
            ("alice", "bob")[i % 2], (PASSWORD, OTHER_PASSWORD)[i % 2] if i < 6 else "wrong"))
        assert [getattr(result, "username", result) for result in results] == \
            ["alice", "bob", "alice", "bob", "alice", "bob", None, None]

    # -- health -------------------------------------------------------------------------

    def test_ping(self, backend: UserBackend):
        backend.ping()
