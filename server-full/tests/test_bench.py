"""``python -m syncserver.bench`` in its quickest mode against a real server on SQLite.

Checks that the run completes with no failed request (Storage 1.1 with Basic
auth, and Storage 1.5 with a token from the token server and Hawk-signed
batch uploads) and writes the table, the JSON document and the chart. It makes no claim about speed.
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def test_quick_bench_writes_results_without_errors(tmp_path):
    output = tmp_path / "results"
    completed = subprocess.run(
        [sys.executable, "-m", "syncserver.bench", "--quick", "--servers", "paster",
         "--levels", "2", "--duration", "1", "--warmup", "0.2", "--output", str(output)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "0 errors" in completed.stdout

    table = (output / "results.md").read_text()
    assert "| Server | Scenario | Clients | Sessions/s | Requests/s | p50 ms | p99 ms |" in table
    assert table.count("| paster+waitress / SQLite |") == 3

    document = json.loads((output / "results.json").read_text())
    assert {row["scenario"] for row in document["results"]} == {
        "sync-mix", "4-request", "1.5-sync-mix"}
    for row in document["results"]:
        assert row["errors"] == 0
        assert row["requests"] > 0
        assert row["p50_ms"] <= row["p99_ms"]
    # Every 4-request session writes; a short sync-mix run may happen not to.
    assert sum(row["sessions"] for row in document["results"]) > 0
    assert sum(row["records_verified"] for row in document["results"]) > 0
    # Storage 1.5 clients got tokens and their Hawk-signed requests were accepted.
    [storage15] = [row for row in document["results"] if row["scenario"] == "1.5-sync-mix"]
    assert storage15["requests"] > 0
    [check] = document["stored_checks"]
    assert check["ok"] and check["stored"] == check["expected"] > 0

    png = (output / "bench.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
