"""Tables of the SQL user store."""
import sqlalchemy as sa

from synccore.schema import exact_string, metadata_with_conventions

metadata = metadata_with_conventions()

users = sa.Table(
    "users", metadata,
    sa.Column("userid", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", exact_string(255), nullable=False, unique=True),
    sa.Column("email", sa.String(255), nullable=True),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    mysql_engine="InnoDB", mysql_charset="utf8mb4", sqlite_autoincrement=True,
)
