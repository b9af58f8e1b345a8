"""Conformance suite of the node-assignment contract, run once per backend.

Subclass ``NodeBackendConformance`` in a test module and provide a
``backend`` fixture: an empty backend whose fallback node is
``NodeBackendConformance.FALLBACK``.
"""
from __future__ import annotations

import threading
from collections import Counter

import pytest

from syncreg.nodes import SYNC_11, SYNC_15, NodeBackend, NodeExists, NodeNotFound, NoNodeAvailable

A = "https://a.example.test/"
B = "https://b.example.test/"
C = "https://c.example.test/"


class NodeBackendConformance:
    FALLBACK = "https://fallback.example.test/"

    # -- nodes -------------------------------------------------------------

    def test_add_and_list(self, backend: NodeBackend):
        added = backend.add_node(SYNC_11, B, 10)
        backend.add_node(SYNC_11, A, 5)
        backend.add_node(SYNC_15, C, 7)
        assert (added.url, added.capacity, added.assigned, added.down) == (B, 10, 0, False)
        assert [(n.service, n.url, n.capacity) for n in backend.list_nodes()] == [
            (SYNC_11, A, 5), (SYNC_11, B, 10), (SYNC_15, C, 7)]
        assert [n.url for n in backend.list_nodes(SYNC_15)] == [C]
        assert backend.list_nodes("no-such-service") == []

    def test_urls_are_normalised(self, backend: NodeBackend):
        node = backend.add_node(SYNC_11, "a.example.test", 1)
        assert node.url == A
        backend.set_capacity(SYNC_11, "https://a.example.test", 3)
        assert backend.list_nodes(SYNC_11)[0].capacity == 3
        with pytest.raises(NodeExists):
            backend.add_node(SYNC_11, A, 1)

    def test_same_url_in_two_services(self, backend: NodeBackend):
        backend.add_node(SYNC_11, A, 1)
        backend.add_node(SYNC_15, A, 2)
        assert len(backend.list_nodes()) == 2

    def test_unknown_node(self, backend: NodeBackend):
        with pytest.raises(NodeNotFound):
            backend.set_capacity(SYNC_11, A, 1)
        with pytest.raises(NodeNotFound):
            backend.set_down(SYNC_11, A, True)
        backend.add_node(SYNC_15, A, 1)
        with pytest.raises(NodeNotFound):
            backend.set_down(SYNC_11, A, True)

    def test_negative_capacity_is_refused(self, backend: NodeBackend):
        with pytest.raises(ValueError):
            backend.add_node(SYNC_11, A, -1)
        backend.add_node(SYNC_11, A, 1)
        with pytest.raises(ValueError):
            backend.set_capacity(SYNC_11, A, -1)

    def test_set_down_and_up(self, backend: NodeBackend):
        backend.add_node(SYNC_11, A, 1)
        backend.set_down(SYNC_11, A, True)
        assert backend.list_nodes()[0].down is True
        backend.set_down(SYNC_11, A, True)  # unchanged value is not "not found"
        backend.set_down(SYNC_11, A, False)
        assert backend.list_nodes()[0].down is False

    # -- assignment ----------------------------------------------------------

    def test_no_nodes_gives_the_fallback_and_records_nothing(self, backend: NodeBackend):
        assert backend.assign_node(SYNC_11, "alice") == self.FALLBACK
        assert backend.get_assignment(SYNC_11, "alice") is None

    def test_assignment_is_kept(self, backend: NodeBackend):
        backend.add_node(SYNC_11, A, 10)
        assert backend.get_assignment(SYNC_11, "alice") is None
        assert backend.assign_node(SYNC_11, "alice") == A
        backend.add_node(SYNC_11, B, 1000)  # emptier, but alice stays
        assert backend.assign_node(SYNC_11, "alice") == A
        assert backend.get_assignment(SYNC_11, "alice") == A
        assert {n.url: n.assigned for n in backend.list_nodes()} == {A: 1, B: 0}

    def test_least_loaded_by_ratio(self, backend: NodeBackend):
        backend.add_node(SYNC_11, A, 100)
        backend.add_node(SYNC_11, B, 300)
        for number in range(8):
            backend.assign_node(SYNC_11, f"user{number}")
        assigned = {n.url: n.assigned for n in backend.list_nodes()}
        assert assigned == {A: 2, B: 6}

    def test_down_and_full_nodes_are_skipped(self, backend: NodeBackend):
        backend.add_node(SYNC_11, A, 100)
        backend.add_node(SYNC_11, B, 1)
        backend.add_node(SYNC_11, C, 100)
        backend.set_down(SYNC_11, A, True)
        assert backend.assign_node(SYNC_11, "u1") == B  # 0/1 beats 0/100 by URL order
        assert backend.assign_node(SYNC_11, "u2") == C  # B is full
        assert backend.assign_node(SYNC_11, "u3") == C

    def test_users_keep_a_node_that_goes_down(self, backend: NodeBackend):
        backend.add_node(SYNC_11, A, 10)
        backend.assign_node(SYNC_11, "alice")
        backend.set_down(SYNC_11, A, True)
        assert backend.assign_node(SYNC_11, "alice") == A

    def test_no_available_node(self, backend: NodeBackend):
        backend.add_node(SYNC_11, A, 1)
        backend.add_node(SYNC_11, B, 0)
        backend.assign_node(SYNC_11, "first")
        with pytest.raises(NoNodeAvailable):
            backend.assign_node(SYNC_11, "second")
        assert backend.get_assignment(SYNC_11, "second") is None
        backend.set_capacity(SYNC_11, B, 5)
        assert backend.assign_node(SYNC_11, "second") == B
        backend.set_down(SYNC_11, A, True)
        backend.set_down(SYNC_11, B, True)
        with pytest.raises(NoNodeAvailable):
            backend.assign_node(SYNC_11, "third")

    def test_services_are_independent(self, backend: NodeBackend):
        backend.add_node(SYNC_15, A, 10)
        assert backend.assign_node(SYNC_11, "alice") == self.FALLBACK
        assert backend.assign_node(SYNC_15, "alice") == A
        assert backend.get_assignment(SYNC_11, "alice") is None

    def test_release(self, backend: NodeBackend):
        backend.add_node(SYNC_11, A, 10)
        backend.assign_node(SYNC_11, "alice")
        backend.release(SYNC_11, "alice")
        assert backend.get_assignment(SYNC_11, "alice") is None
        assert backend.list_nodes()[0].assigned == 0
        backend.release(SYNC_11, "alice")  # nothing to release: no error
        backend.release(SYNC_11, "nobody")
        assert backend.list_nodes()[0].assigned == 0
        assert backend.assign_node(SYNC_11, "alice") == A
        assert backend.list_nodes()[0].assigned == 1

    def test_keys_are_exact(self, backend: NodeBackend):
        backend.add_node(SYNC_11, A, 10)
        backend.assign_node(SYNC_11, "Alice")
        assert backend.get_assignment(SYNC_11, "alice") is None

    # -- concurrency ---------------------------------------------------------

    @staticmethod
    def _run_threads(count: int, target) -> list:
        results: list = [None] * count
        errors: list[BaseException] = []
        start = threading.Barrier(count)

        def run(index: int) -> None:
            try:
                start.wait()
                results[index] = target(index)
            except BaseException as exc:  # reported by the assertion below
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        return results

    def test_concurrent_assignment_of_one_user(self, backend: NodeBackend):
        backend.add_node(SYNC_11, A, 100)
        backend.add_node(SYNC_11, B, 100)
        results = self._run_threads(6, lambda _i: backend.assign_node(SYNC_11, "alice"))
        assert len(set(results)) == 1
        assert sum(n.assigned for n in backend.list_nodes()) == 1

    def test_concurrent_assignment_counts_every_user_once(self, backend: NodeBackend):
        backend.add_node(SYNC_11, A, 3)
        backend.add_node(SYNC_11, B, 3)

        def assign(index: int) -> str | None:
            try:
                return backend.assign_node(SYNC_11, f"user{index}")
            except NoNodeAvailable:
                return None

        results = self._run_threads(8, assign)
        placed = Counter(url for url in results if url is not None)
        assert placed == {A: 3, B: 3}
        assert {n.url: n.assigned for n in backend.list_nodes()} == {A: 3, B: 3}
