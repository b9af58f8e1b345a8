"""Benchmark output: a Markdown table, a JSON document and a PNG chart."""
from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from syncserver.bench.load import LevelResult

COLUMNS = ("Server", "Scenario", "Clients", "Sessions/s", "Requests/s", "p50 ms", "p99 ms",
           "Errors", "Server CPU ms/req")


def markdown_table(results: Sequence[LevelResult]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |",
             "|" + "|".join(["---"] * 2 + ["---:"] * (len(COLUMNS) - 2)) + "|"]
    for result in results:
        lines.append(
            f"| {result.server} | {result.scenario} | {result.clients} "
            f"| {result.sessions_per_s:.1f} | {result.requests_per_s:.1f} "
            f"| {result.p50_ms:.1f} | {result.p99_ms:.1f} | {result.errors} "
            f"| {_optional(result.server_cpu_ms_per_request)} |")
    return "\n".join(lines)


def _optional(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def markdown_document(results: Sequence[LevelResult], checks: Sequence[dict[str, Any]],
                      context: dict[str, Any]) -> str:
    lines = ["# SyncServer benchmark", "",
             f"Command: `{context['command']}`  ",
             f"Date: {context['date']}; {context['cpus']} CPUs; Python {context['python']}; "
             f"{context['duration_s']} s measured per level after {context['warmup_s']} s "
             f"of warm-up; {context['users']} accounts; load from "
             f"{context['client_processes']} client processes on the same machine; "
             f"load average {context['load_average_at_start']} at the start, "
             f"{context['load_average_at_end']} at the end.", "",
             markdown_table(results), ""]
    lines.append("Stored-records check (records each client created minus those it deleted, "
                 "against `info/collection_counts`):")
    lines.append("")
    for check in checks:
        verdict = "ok" if check["ok"] else "MISMATCH"
        lines.append(f"- {check['server']}: expected {check['expected']}, "
                     f"stored {check['stored']}, {check['records_read_back']} records read "
                     f"back: {verdict}")
    samples = [sample for result in results for sample in result.error_samples]
    if samples:
        lines += ["", "First errors:", ""] + [f"- `{sample}`" for sample in samples[:20]]
    return "\n".join(lines) + "\n"


def write_json(path: Path, results: Sequence[LevelResult], checks: Sequence[dict[str, Any]],
               context: dict[str, Any]) -> None:
    document = {"context": context, "results": [result.as_dict() for result in results],
                "stored_checks": list(checks)}
    path.write_text(json.dumps(document, indent=2) + "\n")


def write_chart(path: Path, results: Sequence[LevelResult]) -> None:
    """Sessions/s (top) and p50/p99 latency (bottom) against clients, one column per scenario."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot

    scenarios = list(dict.fromkeys(result.scenario for result in results))
    servers = list(dict.fromkeys(result.server for result in results))
    figure, axes = pyplot.subplots(2, len(scenarios), figsize=(6.5 * len(scenarios), 8),
                                   squeeze=False)
    colours = pyplot.rcParams["axes.prop_cycle"].by_key()["color"]
    for column, scenario in enumerate(scenarios):
        top, bottom = axes[0][column], axes[1][column]
        levels = sorted({r.clients for r in results if r.scenario == scenario})
        for index, server in enumerate(servers):
            rows = sorted((r for r in results if r.scenario == scenario and r.server == server),
                          key=lambda r: r.clients)
            if not rows:
                continue
            colour = colours[index % len(colours)]
            clients = [r.clients for r in rows]
            top.plot(clients, [r.sessions_per_s for r in rows], marker="o", color=colour,
                     label=server)
            bottom.plot(clients, [r.p99_ms for r in rows], marker="o", color=colour,
                        label=server)
            bottom.plot(clients, [r.p50_ms for r in rows], marker=".", linestyle="--",
                        color=colour)
        for axis in (top, bottom):
            axis.set_xscale("log", base=2)
            axis.set_xticks(levels, [str(level) for level in levels])
            axis.set_xlabel("concurrent clients")
            axis.grid(True, alpha=0.3)
        top.set_title(f"{scenario}: throughput")
        top.set_ylabel("sessions per second")
        top.set_ylim(bottom=0)
        top.legend(fontsize="small")
        bottom.set_title(f"{scenario}: latency per request (solid p99, dashed p50)")
        # p50 and p99 often differ tenfold: a log scale keeps both readable.
        bottom.set_yscale("log")
        bottom.set_ylabel("milliseconds (log scale)")
        bottom.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    pyplot.close(figure)
