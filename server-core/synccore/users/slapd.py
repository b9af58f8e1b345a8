"""A throw-away OpenLDAP server on a loopback port, for tests and local trials.

``SlapdServer`` writes a cn=config LDIF into a private directory, loads it
with ``slapadd -n0`` together with the core, cosine, inetorgperson and nis
schemas, creates an mdb database holding the base entries, and runs
``slapd`` in the foreground as a child process. It can be stopped, paused
(SIGSTOP, so clients time out) and started again on the same port and data.

Two identities are configured: the root DN (used by tests to arrange
entries) and an ordinary service account with write access to the tree
and a small size limit, as a production directory would have, so the
user store is exercised with paged searches and real access controls.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

SCHEMAS = ("core", "cosine", "inetorgperson", "nis")
_MODULE_DIRS = ("/usr/lib/ldap", "/usr/lib64/openldap", "/usr/lib/openldap",
                "/usr/libexec/openldap", "/usr/local/libexec/openldap")
_SCHEMA_DIRS = ("/etc/ldap/schema", "/etc/openldap/schema", "/usr/local/etc/openldap/schema")
_SBIN_DIRS = ("/usr/sbin", "/usr/local/sbin", "/usr/libexec")
# Debian package names, for the message shown when something is missing.
DEBIAN_PACKAGES = ("slapd", "ldap-utils")


class SlapdUnavailableError(Exception):
    """OpenLDAP's server programs, modules or schemas are not installed."""


@dataclass(frozen=True)
class SlapdTools:
    slapd: str
    slapadd: str
    module_dir: str | None  # None when back_mdb is built in
    schema_dir: str
    has_argon2: bool


def find_slapd() -> SlapdTools:
    """Locate slapd and what it needs, or raise SlapdUnavailableError saying what is missing."""
    search_path = os.pathsep.join([os.environ.get("PATH", ""), *_SBIN_DIRS])
    slapd = shutil.which("slapd", path=search_path)
    slapadd = shutil.which("slapadd", path=search_path)
    hint = f"install OpenLDAP (Debian: apt-get install {' '.join(DEBIAN_PACKAGES)})"
    if slapd is None or slapadd is None:
        raise SlapdUnavailableError(f"slapd/slapadd not found; {hint}")
    schema_dir = next((d for d in _SCHEMA_DIRS
                       if all(os.path.exists(f"{d}/{name}.ldif") for name in SCHEMAS)), None)
    if schema_dir is None:
        raise SlapdUnavailableError(f"OpenLDAP schema LDIF files not found; {hint}")
    module_dir = next((d for d in _MODULE_DIRS if os.path.exists(f"{d}/back_mdb.la")
                       or os.path.exists(f"{d}/back_mdb.so")), None)
    has_argon2 = module_dir is not None and os.path.exists(f"{module_dir}/argon2.so")
    return SlapdTools(slapd, slapadd, module_dir, schema_dir, has_argon2)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class TlsFiles:
    """PEM files for the server; clients trust ``ca_file``."""

    ca_file: str
    certificate_file: str
    key_file: str


def make_test_certificates(directory: str | os.PathLike) -> TlsFiles:
    """A private CA and a certificate for 127.0.0.1/localhost signed by it."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)

    def certificate(subject: str, key, issuer: str, issuer_key, is_ca: bool):
        builder = (x509.CertificateBuilder()
                   .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
                   .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(days=2))
                   .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None),
                                  critical=True))
        if not is_ca:
            builder = builder.add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"),
                x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        return builder.sign(issuer_key, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = certificate("SyncServer test CA", ca_key, "SyncServer test CA", ca_key, True)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = certificate("localhost", key, "SyncServer test CA", ca_key, False)
    files = TlsFiles(str(directory / "ca.pem"), str(directory / "server.pem"),
                     str(directory / "server.key"))
    Path(files.ca_file).write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    Path(files.certificate_file).write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    Path(files.key_file).write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    return files


class SlapdServer:
    suffix = "dc=sync,dc=test"
    root_dn = "cn=admin,dc=sync,dc=test"
    service_dn = "cn=sync,dc=sync,dc=test"
    # Searches by the service account stop after this many entries unless paged.
    service_size_limit = 5

    def __init__(self, directory: str | os.PathLike, *, password_hash: str = "{SSHA}",
                 tls: TlsFiles | None = None, tools: SlapdTools | None = None,
                 service_reads_passwords: bool = True):
        self.directory = Path(directory)
        self.password_hash = password_hash
        self.tls = tls
        # False: the service account may replace passwords but not read them.
        self.service_reads_passwords = service_reads_passwords
        self.tools = tools or find_slapd()
        if password_hash == "{ARGON2}" and not self.tools.has_argon2:
            raise SlapdUnavailableError("slapd's argon2 module is not installed")
        self.root_password = uuid.uuid4().hex
        self.service_password = uuid.uuid4().hex
        self.port = free_port()
        self.tls_port = free_port() if tls else None
        self._process: subprocess.Popen | None = None
        self._configured = False

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def tls_url(self) -> str:
        if self.tls_port is None:
            raise ValueError("this server was started without TLS")
        return f"ldaps://127.0.0.1:{self.tls_port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def __enter__(self) -> SlapdServer:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def start(self, timeout_seconds: float = 15.0) -> None:
        if self.running:
            return
        if not self._configured:
            self._configure()
        listen = [self.url + "/"] + ([self.tls_url + "/"] if self.tls else [])
        log = open(self.directory / "slapd.log", "ab")  # noqa: SIM115 - closed in stop()
        self._log = log
        self._process = subprocess.Popen(
            [self.tools.slapd, "-d", "0", "-F", str(self.directory / "slapd.d"),
             "-h", " ".join(listen)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self._wait_until_listening(timeout_seconds)

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGCONT)  # in case it was paused
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._log.close()

    def pause(self) -> None:
        """Freeze slapd: connections are accepted by the kernel but never answered."""
        if self._process is not None:
            self._process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self._process is not None:
            self._process.send_signal(signal.SIGCONT)

    def admin_connection(self, as_service: bool = False):
        """An ldap3 connection bound as the root DN or the service account.

        The caller unbinds it.
        """
        import ldap3
        server = ldap3.Server(self.url, get_info=ldap3.NONE, connect_timeout=5)
        user, password = ((self.service_dn, self.service_password) if as_service
                          else (self.root_dn, self.root_password))
        return ldap3.Connection(server, user, password, auto_bind=True,
                                raise_exceptions=True, receive_timeout=10)

    def new_users_base(self) -> str:
        """A fresh, empty organizational unit to keep accounts in."""
        name = f"users-{uuid.uuid4().hex[:10]}"
        dn = f"ou={name},{self.suffix}"
        conn = self.admin_connection()
        try:
            conn.add(dn, attributes={"objectClass": ["organizationalUnit"], "ou": [name]})
        finally:
            conn.unbind()
        return dn

    def read_attribute(self, dn: str, attribute: str, as_service: bool = False) -> list[bytes]:
        """Raw values of one attribute (none when the entry does not exist).

        Read as the root DN or the service account.
        """
        import ldap3
        from ldap3.core.exceptions import LDAPNoSuchObjectResult
        conn = self.admin_connection(as_service)
        try:
            try:
                conn.search(dn, "(objectClass=*)", search_scope=ldap3.BASE,
                            attributes=[attribute])
            except LDAPNoSuchObjectResult:
                return []
            for item in conn.response:
                for key, values in item.get("raw_attributes", {}).items():
                    if key.lower() == attribute.lower():
                        return list(values)
            return []
        finally:
            conn.unbind()

    def settings(self, users_base_dn: str, **overrides: str) -> dict[str, str]:
        """``ldap.*`` settings for a user store in ``users_base_dn`` of this server."""
        settings = {
            "users.backend": "synccore.users.ldap",
            "ldap.urls": self.url,
            "ldap.bind_dn": self.service_dn,
            "ldap.bind_password": self.service_password,
            "ldap.users_base_dn": users_base_dn,
            "ldap.page_size": "2",
            "ldap.pool_size": "4",
            "ldap.connect_timeout_seconds": "2",
            "ldap.receive_timeout_seconds": "5",
            "ldap.pool_timeout_seconds": "5",
        }
        settings.update(overrides)
        return settings

    # -- set-up -------------------------------------------------------------

    def _configure(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        config_dir = self.directory / "slapd.d"
        data_dir = self.directory / "data"
        config_dir.mkdir()
        data_dir.mkdir()
        (self.directory / "config.ldif").write_text(self._config_ldif(data_dir))
        (self.directory / "base.ldif").write_text(self._base_ldif())
        for database, ldif in (("0", "config.ldif"), ("1", "base.ldif")):
            completed = subprocess.run(
                [self.tools.slapadd, "-n", database, "-F", str(config_dir),
                 "-l", str(self.directory / ldif)],
                capture_output=True, text=True, check=False)
            if completed.returncode != 0:
                raise RuntimeError(f"slapadd -n{database} failed: {completed.stderr.strip()}")
        self._configured = True

    def _config_ldif(self, data_dir: Path) -> str:
        tools = self.tools
        modules = ""
        if tools.module_dir:
            modules = (f"dn: cn=module{{0}},cn=config\nobjectClass: olcModuleList\n"
                       f"cn: module{{0}}\nolcModulePath: {tools.module_dir}\n"
                       "olcModuleLoad: back_mdb\n"
                       + ("olcModuleLoad: argon2\n" if tools.has_argon2 else "") + "\n")
        schemas = "".join(f"include: file://{tools.schema_dir}/{name}.ldif\n\n"
                          for name in SCHEMAS)
        tls = ""
        if self.tls:
            tls = (f"olcTLSCACertificateFile: {self.tls.ca_file}\n"
                   f"olcTLSCertificateFile: {self.tls.certificate_file}\n"
                   f"olcTLSCertificateKeyFile: {self.tls.key_file}\n")
        service = f'dn.exact="{self.service_dn}"'
        password_access = "write" if self.service_reads_passwords else "=w"
        limit = self.service_size_limit
        return (
            "dn: cn=config\nobjectClass: olcGlobal\ncn: config\n"
            f"olcPidFile: {self.directory}/slapd.pid\n{tls}\n"
            f"{modules}"
            "dn: cn=schema,cn=config\nobjectClass: olcSchemaConfig\ncn: schema\n\n"
            f"{schemas}"
            "dn: olcDatabase={-1}frontend,cn=config\nobjectClass: olcDatabaseConfig\n"
            "objectClass: olcFrontendConfig\nolcDatabase: {-1}frontend\n"
            f"olcPasswordHash: {self.password_hash}\n"
            f"olcSizeLimit: size.soft={limit} size.hard={limit} size.prtotal=unlimited\n\n"
            "dn: olcDatabase={0}config,cn=config\nobjectClass: olcDatabaseConfig\n"
            "olcDatabase: {0}config\nolcAccess: to * by * none\n\n"
            "dn: olcDatabase={1}mdb,cn=config\nobjectClass: olcDatabaseConfig\n"
            "objectClass: olcMdbConfig\nolcDatabase: {1}mdb\n"
            f"olcSuffix: {self.suffix}\nolcRootDN: {self.root_dn}\n"
            f"olcRootPW: {self.root_password}\nolcDbDirectory: {data_dir}\n"
            "olcDbMaxSize: 268435456\nolcDbNoSync: TRUE\n"  # throw-away data: no fsync

            "olcDbIndex: objectClass eq\nolcDbIndex: uid eq\nolcDbIndex: uidNumber eq\n"
            f"olcAccess: to attrs=userPassword by self write by {service} {password_access} "
            "by anonymous auth by * none\n"
            f"olcAccess: to * by {service} write by self read by * none\n"
        )

    def _base_ldif(self) -> str:
        return (
            f"dn: {self.suffix}\nobjectClass: dcObject\nobjectClass: organization\n"
            "dc: sync\no: SyncServer\n\n"
            f"dn: {self.service_dn}\nobjectClass: applicationProcess\n"
            "objectClass: simpleSecurityObject\ncn: sync\n"
            f"userPassword: {self.service_password}\n"
        )

    def _wait_until_listening(self, timeout_seconds: float) -> None:
        deadline = time.monotonic() + timeout_seconds
        while True:
            if self._process is None or self._process.poll() is not None:
                log = (self.directory / "slapd.log").read_text(errors="replace")
                self.stop()
                raise RuntimeError(f"slapd exited at start-up:\n{log[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"slapd did not listen on {self.url} "
                                       f"within {timeout_seconds} s") from None
                time.sleep(0.02)
