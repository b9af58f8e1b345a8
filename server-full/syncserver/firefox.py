"""Test support: a real Firefox (Debian's ``firefox-esr``), headless, driven with Marionette.

``Firefox(profile_dir, prefs)`` starts the browser on a fresh profile whose
``user.js`` holds ``prefs`` and the Marionette port (a free loopback port,
so several browsers can run at once), and connects ``marionette_driver``
to it; no geckodriver is involved. Chrome-context scripts (preferences, the
accounts and Sync services) need ``-remote-allow-system-access``.

``chrome(script, *args)`` runs privileged JavaScript, ``content(...)`` runs
in the page; both scripts are bodies of async functions (``await`` works,
``arguments[i]`` are the arguments). The page is driven with ``marionette``.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import time
import warnings
from pathlib import Path
from typing import Any

from syncserver.testing import free_port

with warnings.catch_warnings():
    # marionette_driver imports modules deprecated in this Python (telnetlib,
    # distro.linux_distribution) for features these tests never use.
    warnings.simplefilter("ignore", DeprecationWarning)
    from marionette_driver.by import By
    from marionette_driver.marionette import Marionette

__all__ = ["By", "Firefox", "firefox_binary", "firefox_version"]

BINARIES = ("firefox-esr", "firefox")
STARTUP_TIMEOUT_SECONDS = 60


def firefox_binary() -> str | None:
    for name in BINARIES:
        path = shutil.which(name)
        if path:
            return path
    return None


def firefox_version(binary: str) -> str:
    """``Mozilla Firefox 153.7.0esr`` -> ``153.7.0esr``."""
    output = subprocess.run([binary, "--version"], capture_output=True, text=True,
                            timeout=60, check=False).stdout.strip()
    return output.rsplit(" ", 1)[-1] if output else "unknown"


def _user_js(prefs: dict[str, Any]) -> str:
    return "".join(f"user_pref({json.dumps(name)}, {json.dumps(value)});\n"
                   for name, value in prefs.items())


class Firefox:
    def __init__(self, profile_dir: Path, prefs: dict[str, Any], binary: str | None = None):
        self.profile_dir = profile_dir
        self.prefs = prefs
        self.binary = binary or firefox_binary()
        if self.binary is None:
            raise FileNotFoundError("no firefox-esr or firefox on PATH")
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.marionette: Marionette | None = None
        self.log_path = profile_dir.with_suffix(".log")

    def __enter__(self) -> Firefox:
        self.profile_dir.mkdir(parents=True, exist_ok=True)
        (self.profile_dir / "user.js").write_text(
            _user_js({**self.prefs, "marionette.port": self.port}), encoding="utf-8")
        log = self.log_path.open("w", encoding="utf-8")
        self.process = subprocess.Popen(
            [self.binary, "--headless", "--marionette", "--no-remote",
             "--profile", str(self.profile_dir), "-remote-allow-system-access"],
            stdout=log, stderr=subprocess.STDOUT,
            env={**os.environ, "MOZ_REMOTE_ALLOW_SYSTEM_ACCESS": "1"})
        log.close()
        try:
            self._wait_for_marionette()
            self.marionette = Marionette(host="127.0.0.1", port=self.port)
            self.marionette.start_session()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_for_marionette(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"firefox exited with {self.process.returncode}:\n"
                                   + self.output())
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"firefox did not open Marionette port {self.port} within "
                           f"{STARTUP_TIMEOUT_SECONDS}s:\n" + self.output())

    def output(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-5000:]
        except OSError:
            return ""

    def _run(self, script: str, args: tuple[Any, ...], timeout_seconds: float) -> Any:
        assert self.marionette is not None
        self.marionette.timeout.script = timeout_seconds
        # Marionette awaits a returned promise.
        return self.marionette.execute_script(f"return (async () => {{{script}\n}})();",
                                              script_args=list(args), new_sandbox=False)

    def chrome(self, script: str, *args: Any, timeout_seconds: float = 60) -> Any:
        """Run privileged JavaScript: preferences, the accounts and Sync services."""
        assert self.marionette is not None
        with self.marionette.using_context("chrome"):
            return self._run(script, args, timeout_seconds)

    def content(self, script: str, *args: Any, timeout_seconds: float = 60) -> Any:
        """Run JavaScript in the current page."""
        return self._run(script, args, timeout_seconds)

    def screenshot(self, path: Path) -> None:
        assert self.marionette is not None
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.marionette.screenshot(format="binary", full=True))

    def stop(self) -> None:
        if self.marionette is not None:
            with contextlib.suppress(Exception):  # the browser may already be gone
                self.marionette.delete_session()
            self.marionette = None
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()
