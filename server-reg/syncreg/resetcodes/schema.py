"""Table of the SQL reset-code store."""
import sqlalchemy as sa

from synccore.schema import exact_string, metadata_with_conventions

metadata = metadata_with_conventions()

reset_codes = sa.Table(
    "reset_codes", metadata,
    sa.Column("username", exact_string(255), primary_key=True),
    sa.Column("nonce", sa.String(64), nullable=False),
    sa.Column("code_hash", sa.String(64), nullable=False),
    sa.Column("expires_at", sa.BigInteger, nullable=False, index=True),
    mysql_engine="InnoDB", mysql_charset="utf8mb4",
)
