"""Options and the benchmark run: every server line, every scenario, every level."""
from __future__ import annotations

import argparse
import datetime
import logging
import os
import platform
import shlex
import sys
import tempfile
from pathlib import Path
from typing import Any

from syncserver.bench.accounts import expected_records, seed_accounts, stored_records
from syncserver.bench.load import LevelResult, LoadPlan, run_level
from syncserver.bench.report import markdown_document, markdown_table, write_chart, write_json
from syncserver.bench.scenarios import SCENARIOS
from syncserver.bench.server import ServeOptions, ServerLine, serve

SERVER_KINDS = ("paster", "gunicorn", "gunicorn-mysql")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m syncserver.bench",
        description="Start the server on loopback and measure it under a realistic sync load.")
    parser.add_argument("--output", default="bench-results", type=Path,
                        help="directory for results.md, results.json and bench.png")
    parser.add_argument("--quick", action="store_true",
                        help="a short smoke run: levels 1,4, 1 s each, 4 accounts, "
                             "cheap password hashing")
    parser.add_argument("--duration", type=float, help="measured seconds per level (10)")
    parser.add_argument("--warmup", type=float, help="unmeasured seconds before each level (2)")
    parser.add_argument("--levels", help="concurrent clients, comma separated (1,4,16,32)")
    parser.add_argument("--users", type=int, help="accounts to create (the largest level)")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS),
                        help=f"comma separated, from {', '.join(SCENARIOS)}")
    parser.add_argument("--servers",
                        help=f"comma separated, from {', '.join(SERVER_KINDS)} (default: "
                             "paster,gunicorn, plus gunicorn-mysql with a MySQL URL)")
    parser.add_argument("--mysql-url", default=os.environ.get("SYNC_TEST_MYSQL_URL"),
                        help="MySQL/MariaDB server to create a temporary database on "
                             "(default: $SYNC_TEST_MYSQL_URL)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=8, help="threads per gunicorn worker")
    parser.add_argument("--worker-class", default="gthread",
                        help="gunicorn worker class (gthread keeps connections alive)")
    parser.add_argument("--set", action="append", default=[], metavar="SETTING=VALUE",
                        dest="overrides", help="override an application setting "
                        "(repeatable), e.g. --set auth.recheck_seconds=5")
    parser.add_argument("--client-processes", type=int, default=max(2, os.cpu_count() or 2),
                        help="processes generating the load")
    args = parser.parse_args(argv)
    if any("=" not in item for item in args.overrides):
        parser.error("--set takes SETTING=VALUE")
    args.overrides = tuple(tuple(item.split("=", 1)) for item in args.overrides)
    quick = args.quick
    args.duration = args.duration or (1.0 if quick else 10.0)
    args.warmup = args.warmup if args.warmup is not None else (0.3 if quick else 2.0)
    args.levels = [int(level) for level in (args.levels or ("1,4" if quick else "1,4,16,32"))
                   .split(",")]
    args.users = args.users or max(args.levels)
    args.scenarios = [name.strip() for name in args.scenarios.split(",") if name.strip()]
    unknown = set(args.scenarios) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    default_servers = "paster,gunicorn" + (",gunicorn-mysql" if args.mysql_url else "")
    args.servers = [name.strip() for name in (args.servers or default_servers).split(",")]
    unknown = set(args.servers) - set(SERVER_KINDS)
    if unknown:
        parser.error(f"unknown servers: {', '.join(sorted(unknown))}")
    if "gunicorn-mysql" in args.servers and not args.mysql_url:
        parser.error("gunicorn-mysql needs --mysql-url or SYNC_TEST_MYSQL_URL")
    return args


def server_line(kind: str, args: argparse.Namespace) -> ServerLine:
    if kind == "paster":
        return ServerLine("paster+waitress / SQLite", "paster", "sqlite")
    shape = f"gunicorn {args.worker_class} {args.workers}w x {args.threads}t"
    if kind == "gunicorn":
        return ServerLine(f"{shape} / SQLite", "gunicorn", "sqlite")
    return ServerLine(f"{shape} / MariaDB", "gunicorn", "mysql")


def bench_line(line: ServerLine, args: argparse.Namespace, workdir: Path,
               options: ServeOptions) -> tuple[list[LevelResult], dict[str, Any]]:
    results: list[LevelResult] = []
    written: dict[str, list[int]] = {}
    with serve(line, workdir, options) as server:
        connections = 1 if line.kind == "paster" else 3 * args.workers
        seed_accounts(server, connections)
        for scenario in args.scenarios:
            for clients in args.levels:
                plan = LoadPlan(server.host, server.port, server.accounts, scenario, clients,
                                args.warmup, args.duration, args.client_processes)
                result, per_user = run_level(plan, line.name, server.cpu_seconds)
                for user, (inserted, deleted) in per_user.items():
                    totals = written.setdefault(user, [0, 0])
                    totals[0] += inserted
                    totals[1] += deleted
                results.append(result)
                print(markdown_table([result]).splitlines()[-1], flush=True)
        stored = stored_records(server)
    expected = expected_records(server.accounts, written)
    check = {"server": line.name, "expected": sum(expected.values()),
             "stored": sum(stored.values()),
             "records_read_back": sum(result.records_verified for result in results),
             "mismatched_accounts": sorted(user for user in expected
                                           if expected[user] != stored.get(user))}
    check["ok"] = not check["mismatched_accounts"]
    return results, check


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # The application is built in-process to create the accounts; its
    # start-up notices are not part of the results.
    logging.basicConfig(level=logging.ERROR)
    options = ServeOptions(users=args.users, fast_hashing=args.quick,
                           gunicorn_workers=args.workers, gunicorn_threads=args.threads,
                           gunicorn_worker_class=args.worker_class,
                           mysql_url=args.mysql_url, overrides=args.overrides)
    context = {
        "command": shlex.join(["python", "-m", "syncserver.bench",
                               *(sys.argv[1:] if argv is None else argv)]),
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": os.cpu_count(), "python": platform.python_version(),
        "duration_s": args.duration, "warmup_s": args.warmup, "users": args.users,
        "client_processes": args.client_processes,
        "settings": dict(args.overrides),
        # Other work on the machine skews the figures; say how busy it was.
        "load_average_at_start": round(os.getloadavg()[0], 2),
    }
    print(markdown_table([]), flush=True)
    results: list[LevelResult] = []
    checks: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="syncbench-") as tmp:
        for index, kind in enumerate(args.servers):
            line = server_line(kind, args)
            line_results, check = bench_line(line, args, Path(tmp) / f"line{index}", options)
            results += line_results
            checks.append(check)
    context["load_average_at_end"] = round(os.getloadavg()[0], 2)
    args.output.mkdir(parents=True, exist_ok=True)
    document = markdown_document(results, checks, context)
    (args.output / "results.md").write_text(document)
    write_json(args.output / "results.json", results, checks, context)
    write_chart(args.output / "bench.png", results)
    for check in checks:
        print(f"stored records, {check['server']}: expected {check['expected']}, "
              f"stored {check['stored']}: {'ok' if check['ok'] else 'MISMATCH'}")
    errors = sum(result.errors for result in results)
    print(f"{errors} errors; results in {args.output}/")
    for sample in [s for result in results for s in result.error_samples][:10]:
        print(f"  {sample}")
    return 0 if errors == 0 and all(check["ok"] for check in checks) else 1
