"""The load generator: client processes, each running simulated clients in threads.

Several processes keep the Python client from being the bottleneck. Each
simulated client has its own keep-alive connection and loops over sessions
of one scenario. The parent starts every process, waits until all clients
are connected, then announces a common schedule: a warm-up (errors count,
timings do not) followed by the measured window. Clients stop by themselves
at the end of the window, read back what they wrote and report.
"""
from __future__ import annotations

import math
import multiprocessing
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from syncserver.bench.client import Recorder, RequestFailedError, SyncClient
from syncserver.bench.scenarios import (
    SCENARIOS,
    STORAGE15_SCENARIOS,
    ClientState,
    start,
    start15,
    verify_stored,
)
from syncserver.bench.tokens import connect15

# How long client processes may take to start and connect before the run is abandoned.
STARTUP_TIMEOUT_SECONDS = 60.0
# Grace given to clients after the window to finish a session and read back records.
FINISH_TIMEOUT_SECONDS = 120.0


@dataclass
class LevelResult:
    """Figures of one scenario at one concurrency level."""
    server: str
    scenario: str
    clients: int
    duration_s: float
    sessions: int
    requests: int
    errors: int
    sessions_per_s: float
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    # Server CPU (all its processes) per request in the window; None where unknown.
    server_cpu_ms_per_request: float | None
    records_verified: int
    error_samples: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class LoadPlan:
    host: str
    port: int
    accounts: tuple[tuple[str, str], ...]
    scenario: str
    clients: int
    warmup_seconds: float
    duration_seconds: float
    processes: int


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values (0 when empty)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


def _client_thread(plan: LoadPlan, account: tuple[str, str], seed: int, recorder: Recorder,
                   prepared: threading.Barrier, go: threading.Event, out: dict) -> None:
    import random
    state = ClientState(rng=random.Random(seed))
    storage15 = plan.scenario in STORAGE15_SCENARIOS
    client: SyncClient | None = None
    try:
        if storage15:
            client = connect15(plan.host, plan.port, account[0], recorder)
            start15(client, state)
        else:
            client = SyncClient(plan.host, plan.port, account[0], account[1], recorder)
            start(client, state)
    except RequestFailedError:
        pass
    prepared.wait()
    go.wait()
    if client is None:
        return
    run = SCENARIOS[plan.scenario]
    while time.perf_counter() < recorder.window_end:
        try:
            run(client, state)
        except RequestFailedError:
            continue
        recorder.session_done(time.perf_counter())
    out["verified"] = verify_stored(client, state)
    # The end-of-run count covers the account's 1.1 storage; 1.5 records
    # belong to the token server's uid and are checked by the read-back only.
    if not storage15:
        out["inserted"] = state.inserted_count
        out["deleted"] = state.deleted_count
    client.close()


def _client_process(plan: LoadPlan, client_numbers: list[int], ready, go_event,
                    schedule, results) -> None:
    """Entry point of one client process."""
    recorders = [Recorder() for _ in client_numbers]
    outputs: list[dict] = [{} for _ in client_numbers]
    prepared = threading.Barrier(len(client_numbers) + 1)
    go = threading.Event()
    threads = []
    for index, number in enumerate(client_numbers):
        account = plan.accounts[number % len(plan.accounts)]
        seed = int.from_bytes(os.urandom(4), "big")
        thread = threading.Thread(target=_client_thread, daemon=True, args=(
            plan, account, seed, recorders[index], prepared, go, outputs[index]))
        thread.start()
        threads.append(thread)
    prepared.wait()
    ready.put(os.getpid())
    go_event.wait()
    # The schedule is in wall-clock time; timings use perf_counter.
    offset = time.time() - time.perf_counter()
    for recorder in recorders:
        recorder.window_start = schedule[0] - offset
        recorder.window_end = schedule[1] - offset
    go.set()
    for thread in threads:
        thread.join()
    per_user: dict[str, list[int]] = {}
    for number, out in zip(client_numbers, outputs, strict=True):
        totals = per_user.setdefault(plan.accounts[number % len(plan.accounts)][0], [0, 0])
        totals[0] += out.get("inserted", 0)
        totals[1] += out.get("deleted", 0)
    results.put({
        "requests": sum(r.requests for r in recorders),
        "sessions": sum(r.sessions for r in recorders),
        "errors": sum(r.errors for r in recorders),
        "latencies_ms": [value for r in recorders for value in r.latencies_ms],
        "error_samples": [sample for r in recorders for sample in r.error_samples],
        "verified": sum(out.get("verified", 0) for out in outputs),
        "per_user": per_user,
    })


def run_level(plan: LoadPlan, server_name: str,
              cpu_probe: Callable[[], float | None] = lambda: None,
              ) -> tuple[LevelResult, dict[str, list[int]]]:
    """Run one level; return its figures and the records created/deleted per user.

    ``cpu_probe`` reads the server's CPU seconds at the window's start and
    end: CPU per request barely depends on other load on the machine, unlike
    throughput and latency.
    """
    # Forked clients start at once and import nothing; spawn where fork is missing.
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    processes = max(1, min(plan.processes, plan.clients))
    assignments = [list(range(number, plan.clients, processes)) for number in range(processes)]
    ready, results = context.Queue(), context.Queue()
    go_event = context.Event()
    schedule = context.Array("d", 2)
    workers = [context.Process(target=_client_process, daemon=True,
                               args=(plan, numbers, ready, go_event, schedule, results))
               for numbers in assignments]
    for worker in workers:
        worker.start()
    try:
        for _ in workers:
            ready.get(timeout=STARTUP_TIMEOUT_SECONDS)
        begin = time.time() + plan.warmup_seconds
        schedule[0], schedule[1] = begin, begin + plan.duration_seconds
        go_event.set()
        time.sleep(max(0.0, begin - time.time()))
        cpu_start = cpu_probe()
        time.sleep(max(0.0, begin + plan.duration_seconds - time.time()))
        cpu_end = cpu_probe()
        deadline = plan.warmup_seconds + plan.duration_seconds + FINISH_TIMEOUT_SECONDS
        reports = [results.get(timeout=deadline) for _ in workers]
    except queue.Empty:
        raise RuntimeError(f"client processes did not report ({plan.scenario}, "
                           f"{plan.clients} clients)") from None
    finally:
        for worker in workers:
            worker.join(timeout=10)
            if worker.is_alive():
                worker.terminate()
    latencies = sorted(value for report in reports for value in report["latencies_ms"])
    per_user: dict[str, list[int]] = {}
    for report in reports:
        for user, (inserted, deleted) in report["per_user"].items():
            totals = per_user.setdefault(user, [0, 0])
            totals[0] += inserted
            totals[1] += deleted
    sessions = sum(report["sessions"] for report in reports)
    requests = sum(report["requests"] for report in reports)
    result = LevelResult(
        server=server_name, scenario=plan.scenario, clients=plan.clients,
        duration_s=plan.duration_seconds, sessions=sessions, requests=requests,
        errors=sum(report["errors"] for report in reports),
        sessions_per_s=round(sessions / plan.duration_seconds, 1),
        requests_per_s=round(requests / plan.duration_seconds, 1),
        p50_ms=round(percentile(latencies, 0.50), 2),
        p99_ms=round(percentile(latencies, 0.99), 2),
        max_ms=round(latencies[-1], 2) if latencies else 0.0,
        server_cpu_ms_per_request=(
            round((cpu_end - cpu_start) * 1000 / requests, 3)
            if cpu_start is not None and cpu_end is not None and requests else None),
        records_verified=sum(report["verified"] for report in reports),
        error_samples=[sample for report in reports for sample in report["error_samples"]][:10],
    )
    return result, per_user
