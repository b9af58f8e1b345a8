"""Create the nodes and node_assignments tables.

Revision ID: nodes_0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

from synccore.schema import exact_string

revision = "nodes_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "nodes",
        sa.Column("nodeid", sa.Integer, autoincrement=True),
        sa.Column("service", exact_string(32), nullable=False),
        sa.Column("url", exact_string(255), nullable=False),
        sa.Column("capacity", sa.Integer, nullable=False),
        sa.Column("assigned", sa.Integer, nullable=False, server_default="0"),
        sa.Column("down", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.PrimaryKeyConstraint("nodeid", name="pk_nodes"),
        sa.UniqueConstraint("service", "url", name="uq_nodes_service_url"),
        mysql_engine="InnoDB", mysql_charset="utf8mb4",
    )
    op.create_table(
        "node_assignments",
        sa.Column("service", exact_string(32), nullable=False),
        sa.Column("user_key", exact_string(255), nullable=False),
        sa.Column("nodeid", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("service", "user_key", name="pk_node_assignments"),
        mysql_engine="InnoDB", mysql_charset="utf8mb4",
    )
    op.create_index("ix_node_assignments_nodeid", "node_assignments", ["nodeid"])


def downgrade() -> None:
    op.drop_table("node_assignments")
    op.drop_table("nodes")
