"""Tables of the SQL storage backend.

``bso`` holds records keyed by (userid, collection, id). ``user_collections``
holds one row per (user, collection) with its last-modified timestamp, record
count and payload bytes, so the info/* endpoints read one small row per
collection instead of scanning records. Ids and names compare exactly on
every engine (``synccore.schema.ExactString``: UTF-8 bytes on MySQL,
PostgreSQL ``C`` collation), so ``abc``, ``ABC`` and ``abc `` are different
records and ordering by id is the same everywhere.
"""
import sqlalchemy as sa
from sqlalchemy.dialects import mysql

from synccore.schema import exact_string, metadata_with_conventions

metadata = metadata_with_conventions()


def payload_text() -> sa.types.TypeEngine:
    return sa.Text().with_variant(mysql.MEDIUMTEXT(charset="utf8mb4"), "mysql")


bso = sa.Table(
    "bso", metadata,
    sa.Column("userid", sa.BigInteger, nullable=False),
    sa.Column("collection", exact_string(32), nullable=False),
    sa.Column("id", exact_string(64), nullable=False),
    sa.Column("sortindex", sa.Integer, nullable=True),
    sa.Column("modified", sa.BigInteger, nullable=True),
    sa.Column("payload", payload_text(), nullable=True),
    sa.Column("payload_size", sa.Integer, nullable=False, server_default="0"),
    sa.Column("parentid", exact_string(64), nullable=True),
    sa.Column("predecessorid", exact_string(64), nullable=True),
    sa.Column("expiry", sa.BigInteger, nullable=False),
    sa.PrimaryKeyConstraint("userid", "collection", "id", name="pk_bso"),
    sa.Index("ix_bso_modified", "userid", "collection", "modified"),
    sa.Index("ix_bso_user_expiry", "userid", "expiry"),
    sa.Index("ix_bso_expiry", "expiry"),
    mysql_engine="InnoDB", mysql_charset="utf8mb4",
)

user_collections = sa.Table(
    "user_collections", metadata,
    sa.Column("userid", sa.BigInteger, nullable=False),
    sa.Column("collection", exact_string(32), nullable=False),
    sa.Column("last_modified", sa.BigInteger, nullable=False),
    sa.Column("record_count", sa.Integer, nullable=False),
    sa.Column("payload_bytes", sa.BigInteger, nullable=False),
    sa.PrimaryKeyConstraint("userid", "collection", name="pk_user_collections"),
    mysql_engine="InnoDB", mysql_charset="utf8mb4",
)

# The storage timestamp's floor: when a collection or the whole storage was
# last deleted, so the storage timestamp advances on deletion (it is the
# greatest of this and the collections' last-modified).
user_storage = sa.Table(
    "user_storage", metadata,
    sa.Column("userid", sa.BigInteger, nullable=False),
    sa.Column("last_modified", sa.BigInteger, nullable=False),
    sa.PrimaryKeyConstraint("userid", name="pk_user_storage"),
    mysql_engine="InnoDB", mysql_charset="utf8mb4",
)

# Open Storage 1.5 upload batches, each bound to one (user, collection);
# ``expiry`` in whole seconds.
batch_uploads = sa.Table(
    "batch_uploads", metadata,
    sa.Column("userid", sa.BigInteger, nullable=False),
    sa.Column("batch", exact_string(64), nullable=False),
    sa.Column("collection", exact_string(32), nullable=False),
    sa.Column("expiry", sa.BigInteger, nullable=False),
    sa.PrimaryKeyConstraint("userid", "batch", name="pk_batch_uploads"),
    sa.Index("ix_batch_uploads_expiry", "expiry"),
    mysql_engine="InnoDB", mysql_charset="utf8mb4",
)

# Records staged in a batch: only the fields the client sent (NULL = absent).
batch_upload_items = sa.Table(
    "batch_upload_items", metadata,
    sa.Column("userid", sa.BigInteger, nullable=False),
    sa.Column("batch", exact_string(64), nullable=False),
    sa.Column("id", exact_string(64), nullable=False),
    sa.Column("sortindex", sa.Integer, nullable=True),
    sa.Column("payload", payload_text(), nullable=True),
    sa.Column("payload_size", sa.Integer, nullable=False, server_default="0"),
    sa.Column("ttl_seconds", sa.Integer, nullable=True),
    sa.PrimaryKeyConstraint("userid", "batch", "id", name="pk_batch_upload_items"),
    mysql_engine="InnoDB", mysql_charset="utf8mb4",
)
