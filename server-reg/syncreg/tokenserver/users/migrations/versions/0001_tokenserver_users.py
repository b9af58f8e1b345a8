"""Create the token server's account table.

Revision ID: tokenserver_0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

from synccore.schema import exact_string
from syncreg.tokenserver.users.schema import FIRST_UID, uid_type

revision = "tokenserver_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tokenserver_users",
        sa.Column("uid", uid_type(), sa.Identity(start=FIRST_UID), autoincrement=True),
        sa.Column("service", sa.String(30), nullable=False),
        sa.Column("email", exact_string(255), nullable=False),
        sa.Column("generation", sa.BigInteger, nullable=False),
        sa.Column("keys_changed_at", sa.BigInteger, nullable=True),
        sa.Column("client_state", sa.String(32), nullable=False, server_default=""),
        sa.Column("node", sa.String(255), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("replaced_at", sa.BigInteger, nullable=True),
        sa.Column("purged_at", sa.BigInteger, nullable=True),
        sa.PrimaryKeyConstraint("uid", name="pk_tokenserver_users"),
        sqlite_autoincrement=True,
        mysql_engine="InnoDB", mysql_charset="utf8mb4", mysql_auto_increment=str(FIRST_UID),
    )
    op.create_index("ix_tokenserver_users_lookup", "tokenserver_users",
                    ["email", "service", "created_at"])
    op.create_index("ix_tokenserver_users_replaced", "tokenserver_users",
                    ["service", "replaced_at"])
    op.create_index("ix_tokenserver_users_node", "tokenserver_users", ["service", "node"])
    if op.get_bind().dialect.name == "sqlite":
        # AUTOINCREMENT continues from the recorded sequence value.
        op.execute(sa.text("INSERT INTO sqlite_sequence (name, seq) "
                           "VALUES ('tokenserver_users', :seq)").bindparams(seq=FIRST_UID - 1))


def downgrade() -> None:
    op.drop_table("tokenserver_users")
