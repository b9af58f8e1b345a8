"""Tables of the SQL accounts store (see ``syncreg.fxa.store`` for what they hold).

Rows of an account are removed with it by the store (no foreign keys), as in
the other registration tables. Times are milliseconds since the epoch.
"""
import sqlalchemy as sa

from synccore.schema import exact_string, metadata_with_conventions

metadata = metadata_with_conventions()

MAX_EMAIL_LENGTH = 255
_TABLE_OPTIONS = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}


def hex_id(length: int) -> sa.types.TypeEngine:
    return sa.String(length)


def command_index_type() -> sa.types.TypeEngine:
    # SQLite only auto-increments an INTEGER PRIMARY KEY (a 64-bit rowid).
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


fxa_accounts = sa.Table(
    "fxa_accounts", metadata,
    sa.Column("uid", hex_id(32), primary_key=True),
    sa.Column("email", exact_string(MAX_EMAIL_LENGTH), nullable=False),
    # The address in lower case: one account per address, whatever its case.
    sa.Column("normalized_email", exact_string(MAX_EMAIL_LENGTH), nullable=False,
              unique=True),
    sa.Column("auth_hash", sa.String(255), nullable=False),
    sa.Column("wrap_kb", hex_id(64), nullable=False),
    sa.Column("verified", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("verifier_set_at", sa.BigInteger, nullable=False),
    sa.Column("keys_changed_at", sa.BigInteger, nullable=False),
    **_TABLE_OPTIONS,
)

fxa_sessions = sa.Table(
    "fxa_sessions", metadata,
    sa.Column("id", hex_id(64), primary_key=True),
    sa.Column("uid", hex_id(32), nullable=False, index=True),
    sa.Column("hawk_key", hex_id(64), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("last_access_at", sa.BigInteger, nullable=False),
    sa.Column("user_agent", sa.String(255), nullable=False, server_default=""),
    **_TABLE_OPTIONS,
)

fxa_devices = sa.Table(
    "fxa_devices", metadata,
    sa.Column("id", hex_id(32), primary_key=True),
    sa.Column("uid", hex_id(32), nullable=False, index=True),
    sa.Column("session_id", hex_id(64), nullable=True, unique=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("type", sa.String(16), nullable=False),
    sa.Column("push_callback", sa.Text, nullable=True),
    sa.Column("push_public_key", sa.String(255), nullable=True),
    sa.Column("push_auth_key", sa.String(255), nullable=True),
    sa.Column("available_commands", sa.Text, nullable=False),  # JSON object
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("last_access_at", sa.BigInteger, nullable=False),
    **_TABLE_OPTIONS,
)

fxa_device_commands = sa.Table(
    "fxa_device_commands", metadata,
    sa.Column("idx", command_index_type(), primary_key=True, autoincrement=True),
    sa.Column("uid", hex_id(32), nullable=False),
    sa.Column("target", hex_id(32), nullable=False),
    sa.Column("sender", hex_id(32), nullable=True),
    sa.Column("command", sa.String(255), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),  # JSON object
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Index("ix_fxa_device_commands_target", "uid", "target", "idx"),
    sqlite_autoincrement=True,
    **_TABLE_OPTIONS,
)

fxa_oauth_codes = sa.Table(
    "fxa_oauth_codes", metadata,
    sa.Column("code_hash", hex_id(64), primary_key=True),
    sa.Column("uid", hex_id(32), nullable=False),
    sa.Column("client_id", sa.String(64), nullable=False),
    sa.Column("scope", sa.Text, nullable=False),
    sa.Column("code_challenge", sa.String(128), nullable=False),
    sa.Column("keys_jwe", sa.Text, nullable=True),
    sa.Column("session_id", hex_id(64), nullable=True),
    sa.Column("expires_at", sa.BigInteger, nullable=False, index=True),
    **_TABLE_OPTIONS,
)

fxa_refresh_tokens = sa.Table(
    "fxa_refresh_tokens", metadata,
    sa.Column("token_hash", hex_id(64), primary_key=True),
    sa.Column("uid", hex_id(32), nullable=False, index=True),
    sa.Column("client_id", sa.String(64), nullable=False),
    sa.Column("scope", sa.Text, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("last_used_at", sa.BigInteger, nullable=False),
    **_TABLE_OPTIONS,
)

fxa_signing_keys = sa.Table(
    "fxa_signing_keys", metadata,
    sa.Column("name", sa.String(32), primary_key=True),
    sa.Column("private_pem", sa.Text, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    **_TABLE_OPTIONS,
)
