"""The token server's account table.

Storage is keyed by a numeric user id shared by two protocols: Sync 1.1
accounts (``synccore`` ``users.userid``, a 32-bit integer column) and the
token server's uids handed to Sync 1.5 clients. Token server uids therefore
start at ``FIRST_UID`` = 2**31, above every possible 1.1 id, so the two can
never name the same storage bucket; they stay within the ten decimal digits
the storage URLs allow for about eight billion accounts.
"""
import sqlalchemy as sa

from synccore.schema import exact_string, metadata_with_conventions

FIRST_UID = 2**31

metadata = metadata_with_conventions()


def uid_type() -> sa.types.TypeEngine:
    # SQLite only auto-increments an INTEGER PRIMARY KEY (a 64-bit rowid).
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


tokenserver_users = sa.Table(
    "tokenserver_users", metadata,
    sa.Column("uid", uid_type(), sa.Identity(start=FIRST_UID), primary_key=True,
              autoincrement=True),
    sa.Column("service", sa.String(30), nullable=False),
    sa.Column("email", exact_string(255), nullable=False),
    sa.Column("generation", sa.BigInteger, nullable=False),
    sa.Column("keys_changed_at", sa.BigInteger, nullable=True),
    sa.Column("client_state", sa.String(32), nullable=False, server_default=""),
    sa.Column("node", sa.String(255), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("replaced_at", sa.BigInteger, nullable=True),
    sa.Column("purged_at", sa.BigInteger, nullable=True),
    sa.Index("ix_tokenserver_users_lookup", "email", "service", "created_at"),
    sa.Index("ix_tokenserver_users_replaced", "service", "replaced_at"),
    sa.Index("ix_tokenserver_users_node", "service", "node"),
    sqlite_autoincrement=True,
    mysql_engine="InnoDB", mysql_charset="utf8mb4", mysql_auto_increment=str(FIRST_UID),
)
