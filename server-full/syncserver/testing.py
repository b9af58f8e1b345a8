"""Support for tests that run SyncServer the way it is deployed.

``synccore.testing`` builds the application in-process; this module drives
the real programs instead: an ini file written for the test, the installed
``bin/sync-admin`` and ``bin/paster serve`` on a free loopback port, spoken
to over real HTTP.
"""
from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synccore.testing import FAST_HASHING

# The environment's own programs: bin/python runs the tests, bin/sync-admin
# and bin/paster sit next to it.
BIN = Path(sys.executable).parent

STARTUP_TIMEOUT_SECONDS = 60
COMMAND_TIMEOUT_SECONDS = 120


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _ini_value(value: Any) -> str:
    # PasteDeploy interpolates %(name)s, so a literal % must be doubled.
    return str(value).replace("%", "%%")


def write_ini(path: Path, settings: Mapping[str, Any], *, port: int | None = None,
              fast_hashing: bool = True) -> Path:
    """An ini file serving ``settings`` with waitress on ``127.0.0.1:port``.

    Errors are logged to stderr so a failing server explains itself (the
    logging sections are read raw, so their ``%`` stay single).
    """
    app = {**(FAST_HASHING if fast_hashing else {}), **settings}
    lines = ["[app:main]", "use = egg:SyncServer"]
    lines += [f"{name} = {_ini_value(value)}" for name, value in app.items()]
    lines += ["", "[server:main]", "use = egg:waitress#main", "host = 127.0.0.1",
              f"port = {port or free_port()}", "threads = 4", ""]
    lines += ["[loggers]", "keys = root", "", "[handlers]", "keys = console", "",
              "[formatters]", "keys = generic", "", "[logger_root]", "level = WARNING",
              "handlers = console", "", "[handler_console]", "class = StreamHandler",
              "args = (sys.stderr,)", "level = NOTSET", "formatter = generic", "",
              "[formatter_generic]", "format = %(levelname)s [%(name)s] %(message)s", ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def database_ini(path: Path, database_url: str) -> Path:
    """An ini on ``database_url`` that migrates it at start, as a server would use it."""
    return write_ini(path, {"sqlalchemy.url": database_url, "db.auto_migrate": "true"})


def run_sync_admin(ini: Path | str | None, *args: str, input: str | None = None,
                   env: Mapping[str, str] | None = None,
                   cwd: Path | str | None = None) -> subprocess.CompletedProcess:
    """Run the installed ``bin/sync-admin`` and capture what it prints."""
    command = [str(BIN / "sync-admin")]
    if ini is not None:
        command += ["-c", str(ini)]
    command += list(args)
    return subprocess.run(command, input=input, capture_output=True, text=True,
                          env=dict(env) if env is not None else None, cwd=cwd,
                          timeout=COMMAND_TIMEOUT_SECONDS, check=False)


@dataclass
class HttpResponse:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def basic_authorization(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode("ascii")


def http_request(method: str, url: str, body: Any = None, *,
                 auth: tuple[str, str] | None = None,
                 headers: Mapping[str, str] | None = None,
                 timeout: float = 30) -> HttpResponse:
    """One real HTTP request; error statuses are returned, not raised."""
    all_headers = dict(headers or {})
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
        all_headers.setdefault("Content-Type", "application/json")
    if auth is not None:
        all_headers["Authorization"] = basic_authorization(*auth)
    request = urllib.request.Request(url, data=data, method=method, headers=all_headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return HttpResponse(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        with error:
            return HttpResponse(error.code, error.headers, error.read())


def wait_until_serving(base_url: str, process: subprocess.Popen | None = None,
                       describe=lambda: "") -> None:
    """Poll ``/__heartbeat__`` until it answers 200; fail early if the server died."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    last_error = ""
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited with status {process.returncode}\n"
                               + describe())
        try:
            if http_request("GET", base_url + "/__heartbeat__", timeout=5).status == 200:
                return
        except OSError as exc:
            last_error = str(exc)
        time.sleep(0.1)
    raise RuntimeError(f"no heartbeat from {base_url} within {STARTUP_TIMEOUT_SECONDS}s "
                       f"({last_error})\n" + describe())


@dataclass
class PasterServer:
    """``bin/paster serve INI`` in a child process; use as a context manager."""
    ini: Path
    port: int
    env: Mapping[str, str] | None = None
    process: subprocess.Popen | None = field(default=None, init=False)
    output: str = field(default="", init=False)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> PasterServer:
        log = self.ini.with_suffix(".log")
        self._log = log.open("w+", encoding="utf-8")
        self.process = subprocess.Popen(
            [str(BIN / "paster"), "serve", str(self.ini)], cwd=self.ini.parent,
            stdout=self._log, stderr=subprocess.STDOUT,
            env={**os.environ, **(self.env or {})})
        try:
            wait_until_serving(self.base_url, self.process, self.read_output)
        except BaseException:
            self.stop()
            raise
        return self

    def read_output(self) -> str:
        self._log.flush()
        self._log.seek(0)
        return self._log.read()

    def stop(self) -> int | None:
        """SIGTERM, as a process manager would send; returns the exit status."""
        if self.process is None or self._log.closed:
            return None if self.process is None else self.process.returncode
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.output = self.read_output()
        self._log.close()
        return self.process.returncode

    def __exit__(self, *exc_info) -> None:
        self.stop()


class TcpRelay:
    """A loopback TCP relay in front of a database server, to take it away mid-run.

    ``cut()`` drops every relayed connection and stops listening, which is
    what the application sees when the database host goes down;
    ``restore()`` listens again on the same port.
    """

    POLL_SECONDS = 0.05

    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self.port = 0
        self._listener: socket.socket | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._acceptor: threading.Thread | None = None

    def start(self) -> TcpRelay:
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._listener.settimeout(self.POLL_SECONDS)
        self.port = self._listener.getsockname()[1]
        self._stop.clear()
        self._acceptor = threading.Thread(target=self._accept_loop, args=(self._listener,),
                                          daemon=True)
        self._acceptor.start()
        return self

    restore = start

    def cut(self) -> None:
        self._stop.set()
        if self._acceptor is not None:
            self._acceptor.join()  # no new connection after this
            self._acceptor = None
        with self._lock:
            doomed = list(self._sockets)
            self._sockets.clear()
        for sock in doomed:
            self._close(sock)
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads = []
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def __enter__(self) -> TcpRelay:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.cut()

    def _spawn(self, target, *args) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self, listener: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                client, _address = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            # Blocking: cut() wakes a waiting recv() by shutting the socket down.
            for sock in (client, upstream):
                sock.settimeout(None)
            with self._lock:
                self._sockets.update((client, upstream))
            self._spawn(self._pump, client, upstream)
            self._spawn(self._pump, upstream, client)

    def _pump(self, source: socket.socket, destination: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                destination.sendall(data)
        except OSError:
            pass  # the other direction or cut() closed the socket
        finally:
            # One side finished: end the other direction too.
            with self._lock:
                self._sockets.discard(source)
                self._sockets.discard(destination)
            self._close(source)
            self._close(destination)

    @staticmethod
    def _close(sock: socket.socket) -> None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()
