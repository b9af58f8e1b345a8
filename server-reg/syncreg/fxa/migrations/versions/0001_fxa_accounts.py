"""Create the tables of the bundled accounts service.

Revision ID: fxa_0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

from synccore.schema import exact_string
from syncreg.fxa.schema import MAX_EMAIL_LENGTH, command_index_type

revision = "fxa_0001"
down_revision = None
branch_labels = None
depends_on = None

OPTIONS = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}


def upgrade() -> None:
    op.create_table(
        "fxa_accounts",
        sa.Column("uid", sa.String(32), nullable=False),
        sa.Column("email", exact_string(MAX_EMAIL_LENGTH), nullable=False),
        sa.Column("normalized_email", exact_string(MAX_EMAIL_LENGTH), nullable=False),
        sa.Column("auth_hash", sa.String(255), nullable=False),
        sa.Column("wrap_kb", sa.String(64), nullable=False),
        sa.Column("verified", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("verifier_set_at", sa.BigInteger, nullable=False),
        sa.Column("keys_changed_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("uid", name="pk_fxa_accounts"),
        sa.UniqueConstraint("normalized_email", name="uq_fxa_accounts_normalized_email"),
        **OPTIONS,
    )
    op.create_table(
        "fxa_sessions",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("uid", sa.String(32), nullable=False),
        sa.Column("hawk_key", sa.String(64), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("last_access_at", sa.BigInteger, nullable=False),
        sa.Column("user_agent", sa.String(255), nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("id", name="pk_fxa_sessions"),
        **OPTIONS,
    )
    op.create_index("ix_fxa_sessions_uid", "fxa_sessions", ["uid"])
    op.create_table(
        "fxa_devices",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("uid", sa.String(32), nullable=False),
        sa.Column("session_id", sa.String(64), nullable=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("push_callback", sa.Text, nullable=True),
        sa.Column("push_public_key", sa.String(255), nullable=True),
        sa.Column("push_auth_key", sa.String(255), nullable=True),
        sa.Column("available_commands", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("last_access_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_fxa_devices"),
        sa.UniqueConstraint("session_id", name="uq_fxa_devices_session_id"),
        **OPTIONS,
    )
    op.create_index("ix_fxa_devices_uid", "fxa_devices", ["uid"])
    op.create_table(
        "fxa_device_commands",
        sa.Column("idx", command_index_type(), autoincrement=True, nullable=False),
        sa.Column("uid", sa.String(32), nullable=False),
        sa.Column("target", sa.String(32), nullable=False),
        sa.Column("sender", sa.String(32), nullable=True),
        sa.Column("command", sa.String(255), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("idx", name="pk_fxa_device_commands"),
        sqlite_autoincrement=True,
        **OPTIONS,
    )
    op.create_index("ix_fxa_device_commands_target", "fxa_device_commands",
                    ["uid", "target", "idx"])
    op.create_table(
        "fxa_oauth_codes",
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("uid", sa.String(32), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("scope", sa.Text, nullable=False),
        sa.Column("code_challenge", sa.String(128), nullable=False),
        sa.Column("keys_jwe", sa.Text, nullable=True),
        sa.Column("session_id", sa.String(64), nullable=True),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("code_hash", name="pk_fxa_oauth_codes"),
        **OPTIONS,
    )
    op.create_index("ix_fxa_oauth_codes_expires_at", "fxa_oauth_codes", ["expires_at"])
    op.create_table(
        "fxa_refresh_tokens",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("uid", sa.String(32), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("scope", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("last_used_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("token_hash", name="pk_fxa_refresh_tokens"),
        **OPTIONS,
    )
    op.create_index("ix_fxa_refresh_tokens_uid", "fxa_refresh_tokens", ["uid"])
    op.create_table(
        "fxa_signing_keys",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("private_pem", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_fxa_signing_keys"),
        **OPTIONS,
    )


def downgrade() -> None:
    for table in ("fxa_signing_keys", "fxa_refresh_tokens", "fxa_oauth_codes",
                  "fxa_device_commands", "fxa_devices", "fxa_sessions", "fxa_accounts"):
        op.drop_table(table)
