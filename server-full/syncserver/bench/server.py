"""Starting and stopping the server under test.

A server line is a way of serving the application (``paster serve``, one
process with waitress threads; or ``gunicorn`` with several worker
processes) on a database (SQLite, or MySQL/MariaDB). Each line gets a
temporary ini derived from the project's own ini files, a fresh database
whose schema and accounts are created in-process through the application's
user backend, and a free loopback port.
"""
from __future__ import annotations

import configparser
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from synccore.testing import ENGINE_ENV, FAST_HASHING, temporary_database
from syncserver.bench.tokens import token_settings

HOST = "127.0.0.1"
READY_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 15.0


@dataclass(frozen=True)
class ServerLine:
    name: str          # shown in reports, e.g. "gunicorn 2w x 8t / SQLite"
    kind: str          # "paster" or "gunicorn"
    database: str      # "sqlite" or "mysql"


@dataclass(frozen=True)
class ServeOptions:
    users: int
    fast_hashing: bool
    gunicorn_workers: int = 2
    gunicorn_threads: int = 8
    gunicorn_worker_class: str = "gthread"
    mysql_url: str | None = None
    # Extra application settings, e.g. {"auth.recheck_seconds": "5"}.
    overrides: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class RunningServer:
    host: str
    port: int
    accounts: tuple[tuple[str, str], ...]
    log_path: Path
    pid: int

    def cpu_seconds(self) -> float | None:
        """CPU time used so far by the server and its worker processes (Linux only)."""
        return process_tree_cpu_seconds(self.pid)


def process_tree_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of ``pid`` and its live children, from /proc."""
    try:
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        pids = [pid]
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                pids += [int(child) for child in handle.read().split()]
        for number in pids:
            with open(f"/proc/{number}/stat") as handle:
                fields = handle.read().rpartition(")")[2].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / ticks
    except (OSError, ValueError):
        return None


def project_root() -> Path:
    """The checkout holding development.ini (the working directory, or the source tree)."""
    for candidate in (Path.cwd(), Path(__file__).resolve().parents[3]):
        if (candidate / "development.ini").exists():
            return candidate
    raise FileNotFoundError("development.ini not found; run from the project checkout")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def write_ini(template: Path, target: Path, app_settings: dict[str, str], port: int) -> None:
    """Copy ``template`` with the database, the port and quiet logging substituted."""
    parser = configparser.RawConfigParser()
    parser.optionxform = str  # keep the case of keys and logger names
    parser.read(template)
    for key, value in app_settings.items():
        parser.set("app:main", key, value)
    parser.set("server:main", "host", HOST)
    parser.set("server:main", "port", str(port))
    for section in parser.sections():
        if section.startswith("logger_"):
            parser.set(section, "level", "WARNING")
    with open(target, "w") as handle:
        parser.write(handle)


def app_settings_for(database_url: str, options: ServeOptions) -> dict[str, str]:
    settings = {
        "sqlalchemy.url": database_url,
        "db.auto_migrate": "false",
        "server.public_url": "http://localhost/",
    }
    # Storage 1.5 clients get their credentials from the token server.
    settings.update(token_settings())
    if options.fast_hashing:
        settings.update(FAST_HASHING)
    settings.update(options.overrides)
    return settings


def create_accounts(ini: Path, count: int) -> tuple[tuple[str, str], ...]:
    """Build the app in-process once: migrate the schema, then create the accounts."""
    from synccore.db import dispose_engines
    from syncserver import main

    parser = configparser.RawConfigParser()
    parser.optionxform = str
    parser.read(ini)
    settings = {key: value for key, value in parser.items("app:main") if key != "use"}
    settings["db.auto_migrate"] = "true"
    users = main({}, **settings).registry.users
    accounts = []
    for number in range(count):
        username, password = f"bench{number:04d}", f"bench-password-{number:04d}"
        users.create_user(username, password)
        accounts.append((username, password))
    dispose_engines()
    return tuple(accounts)


# Gunicorn answers as soon as one worker is up; the others may still be
# importing the application. Each worker leaves a mark once it is ready.
GUNICORN_HOOKS = """\
import os


def post_worker_init(worker):
    open(os.path.join({directory!r}, "ready-%d" % os.getpid()), "w").close()
"""


def server_command(line: ServerLine, ini: Path, port: int, options: ServeOptions) -> list[str]:
    bindir = Path(sys.executable).parent
    if line.kind == "paster":
        return [str(bindir / "paster"), "serve", str(ini)]
    hooks = ini.parent / "gunicorn_hooks.py"
    hooks.write_text(GUNICORN_HOOKS.format(directory=str(ini.parent)))
    return [str(bindir / "gunicorn"), "--config", str(hooks), "--paste", str(ini),
            "--workers", str(options.gunicorn_workers),
            "--worker-class", options.gunicorn_worker_class,
            "--threads", str(options.gunicorn_threads),
            "--bind", f"{HOST}:{port}", "--graceful-timeout", "5"]


def wait_ready(process: subprocess.Popen, port: int, log_path: Path, workers: int) -> None:
    """Wait for the heartbeat and for ``workers`` worker processes to be ready."""
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{_tail(log_path)}")
        if len(list(log_path.parent.glob("ready-*"))) < workers:
            time.sleep(0.1)
            continue
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=5)
            conn.request("GET", "/__heartbeat__")
            if conn.getresponse().status == 200:
                conn.close()
                return
            conn.close()
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server not ready after {READY_TIMEOUT_SECONDS} s:\n{_tail(log_path)}")


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _child_environment() -> dict[str, str]:
    # SYNC_* variables would override the generated ini; keep them out.
    return {key: value for key, value in os.environ.items() if not key.startswith("SYNC_")}


@contextmanager
def _database(line: ServerLine, workdir: Path, options: ServeOptions) -> Iterator[str]:
    if line.database == "sqlite":
        yield f"sqlite:///{workdir / 'sync.db'}"
        return
    if not options.mysql_url:
        raise ValueError("the MySQL line needs --mysql-url or SYNC_TEST_MYSQL_URL")
    os.environ[ENGINE_ENV["mysql"]] = options.mysql_url
    with temporary_database("mysql", str(workdir)) as url:
        yield url


@contextmanager
def serve(line: ServerLine, workdir: Path, options: ServeOptions) -> Iterator[RunningServer]:
    """Run ``line`` on a fresh database until the block ends."""
    workdir.mkdir(parents=True, exist_ok=True)
    template = project_root() / ("development.ini" if line.kind == "paster"
                                 else "production.ini")
    with _database(line, workdir, options) as database_url:
        port = free_port()
        ini = workdir / "bench.ini"
        write_ini(template, ini, app_settings_for(database_url, options), port)
        accounts = create_accounts(ini, options.users)
        log_path = workdir / "server.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(server_command(line, ini, port, options),
                                       stdout=log, stderr=subprocess.STDOUT,
                                       env=_child_environment(), cwd=workdir)
        try:
            wait_ready(process, port, log_path,
                       options.gunicorn_workers if line.kind == "gunicorn" else 0)
            yield RunningServer(HOST, port, accounts, log_path, process.pid)
        finally:
            stop(process)
