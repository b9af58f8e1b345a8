"""The application under a real Apache httpd with mod_wsgi, loaded through sync.wsgi.

The httpd.conf is generated in a temporary directory (its own ServerRoot,
PidFile, logs and loopback port) with the same directives README.md
documents: a daemon process group, WSGIPassAuthorization On (without it
Apache keeps the Basic credentials to itself and every request is a 401),
and SYNC_INI in Apache's environment.

Needs Debian's ``apache2`` and ``libapache2-mod-wsgi-py3`` (or an httpd with
mod_wsgi elsewhere); without them the test skips, or fails when
SYNC_TEST_REQUIRE_ALL_ENGINES=1.
"""
from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from synccore.testing import require_all_engines
from syncserver.testing import (
    free_port,
    http_request,
    run_sync_admin,
    wait_until_serving,
    write_ini,
)

pytestmark = pytest.mark.slow

HTTPD_CANDIDATES = ("/usr/sbin/apache2", "/usr/sbin/httpd")
MODULE_DIRS = ("/usr/lib/apache2/modules", "/usr/lib64/httpd/modules",
               "/usr/lib/httpd/modules")
# name -> file of every module the configuration uses.
MODULES = {"mpm_event_module": "mod_mpm_event.so", "authz_core_module": "mod_authz_core.so",
           "unixd_module": "mod_unixd.so", "wsgi_module": "mod_wsgi.so"}
INSTALL_HINT = "apt-get install apache2 libapache2-mod-wsgi-py3"
PASSWORD = "correct horse battery"


def _unavailable(reason: str):
    if require_all_engines():
        pytest.fail(f"{reason} ({INSTALL_HINT})")
    pytest.skip(f"{reason} ({INSTALL_HINT})")


def find_httpd() -> str:
    for candidate in (shutil.which("apache2"), shutil.which("httpd"), *HTTPD_CANDIDATES):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    _unavailable("Apache httpd is not installed")
    raise AssertionError("unreachable")


def module_lines(httpd: str) -> list[str]:
    """LoadModule lines for the modules not compiled into ``httpd``."""
    built_in = subprocess.run([httpd, "-l"], capture_output=True, text=True,
                              check=False).stdout
    lines = []
    for name, filename in MODULES.items():
        if filename.replace(".so", ".c") in built_in:
            continue
        path = next((os.path.join(directory, filename) for directory in MODULE_DIRS
                     if os.path.exists(os.path.join(directory, filename))), None)
        if path is None:
            _unavailable(f"the Apache module {filename} is not installed")
        lines.append(f"LoadModule {name} {path}")
    return lines


def check_mod_wsgi_python(module_line: str) -> None:
    """mod_wsgi embeds one Python; sync.wsgi needs the environment's minor version."""
    path = module_line.split()[-1]
    linked = subprocess.run(["ldd", path], capture_output=True, text=True,
                            check=False).stdout
    match = re.search(r"libpython(\d+)\.(\d+)", linked)
    if match and tuple(map(int, match.groups())) != sys.version_info[:2]:
        _unavailable(f"mod_wsgi is built for Python {match[1]}.{match[2]}, the environment "
                     f"runs {sys.version_info[0]}.{sys.version_info[1]}")


def httpd_conf(directory: Path, port: int, wsgi_script: Path, modules: list[str],
               run_as: str | None) -> str:
    user = f"User {run_as}\nGroup {run_as}\n" if run_as else ""
    return f"""\
ServerRoot "{directory}"
DefaultRuntimeDir "{directory}"
PidFile "{directory}/httpd.pid"
ErrorLog "{directory}/error.log"
LogLevel info
Listen 127.0.0.1:{port}
ServerName 127.0.0.1:{port}
{chr(10).join(modules)}
{user}
WSGISocketPrefix "{directory}/wsgi"
WSGIRestrictEmbedded On

<VirtualHost 127.0.0.1:{port}>
    WSGIDaemonProcess sync processes=2 threads=4 display-name=%{{GROUP}} \\
        lang=C.UTF-8 locale=C.UTF-8
    WSGIProcessGroup sync
    WSGIApplicationGroup %{{GLOBAL}}
    WSGIPassAuthorization On
    WSGIScriptAlias / "{wsgi_script}"
    <Directory "{wsgi_script.parent}">
        <Files "{wsgi_script.name}">
            Require all granted
        </Files>
    </Directory>
</VirtualHost>
"""


@pytest.fixture
def server_dir():
    """A directory the daemon processes can use even when the tests run as root.

    pytest's own temporary directories are private to the test user; Apache
    refuses to serve as root, so its processes run as ``www-data``.
    """
    directory = Path(tempfile.mkdtemp(prefix="syncserver-apache-"))
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


def daemon_user() -> str | None:
    if os.geteuid() != 0:
        return None  # Apache keeps running as the current user
    for name in ("www-data", "apache", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    pytest.fail("no unprivileged user to run Apache as")


def open_the_way(checkout: Path, user: str | None) -> None:
    """Let the daemon user reach sync.wsgi and the environment in the checkout.

    A checkout under a private directory (``mktemp -d`` makes them 0700) cannot
    be traversed by ``www-data``; only the search bit is added, on the
    checkout's own ancestors, so nothing becomes listable or writable.
    """
    if user is None:
        return
    for directory in [checkout, *checkout.parents]:
        mode = directory.stat().st_mode
        if not mode & 0o001:
            directory.chmod(mode | 0o001)


def hand_over(directory: Path, user: str | None) -> None:
    if user is None:
        return
    entry = pwd.getpwnam(user)
    for path in [directory, *directory.rglob("*")]:
        os.chown(path, entry.pw_uid, entry.pw_gid)


def test_apache_mod_wsgi_serves_a_sync_round_trip(request, server_dir):
    httpd = find_httpd()
    modules = module_lines(httpd)
    wsgi_lines = [line for line in modules if "mod_wsgi" in line]
    if wsgi_lines:
        check_mod_wsgi_python(wsgi_lines[0])
    user = daemon_user()
    port = free_port()
    wsgi_script = request.config.rootpath / "sync.wsgi"

    ini = write_ini(server_dir / "sync.ini", {
        "sqlalchemy.url": f"sqlite:///{server_dir}/sync.db",
        "db.auto_migrate": "false",
        "server.public_url": f"http://127.0.0.1:{port}/"}, port=port)
    for command in (["db", "upgrade"], ["user", "add", "alice", "--password-stdin"]):
        result = run_sync_admin(ini, *command, input=PASSWORD + "\n")
        assert result.returncode == 0, result.stderr
    conf = server_dir / "httpd.conf"
    conf.write_text(httpd_conf(server_dir, port, wsgi_script, modules, user))
    hand_over(server_dir, user)
    open_the_way(request.config.rootpath, user)

    error_log = server_dir / "error.log"

    def describe() -> str:
        return error_log.read_text(errors="replace") if error_log.exists() else ""

    process = subprocess.Popen([httpd, "-f", str(conf), "-DFOREGROUND"],
                               env={**os.environ, "SYNC_INI": str(ini)},
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_serving(base, process, describe)
        auth = ("alice", PASSWORD)

        put = http_request("PUT", f"{base}/1.1/alice/storage/bookmarks/abc",
                           {"id": "abc", "payload": "served by Apache"}, auth=auth)
        assert put.status == 200, (put.body, describe())
        assert "Apache" in put.headers.get("Server", "")
        modified = float(put.body)

        got = http_request("GET", f"{base}/1.1/alice/storage/bookmarks/abc", auth=auth)
        assert got.status == 200
        assert (got.json()["payload"], got.json()["modified"]) == ("served by Apache", modified)
        info = http_request("GET", f"{base}/1.1/alice/info/collections", auth=auth)
        assert info.json() == {"bookmarks": modified}
        assert http_request("GET", f"{base}/user/1.0/alice/node/weave").body == \
            f"http://127.0.0.1:{port}/".encode()

        wrong = http_request("GET", f"{base}/1.1/alice/info/collections",
                             auth=("alice", "wrong password"))
        assert wrong.status == 401
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            output, _ = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
    assert process.returncode == 0, output
    log = describe()
    assert "Traceback" not in log, log
    assert not (server_dir / "httpd.pid").exists()
