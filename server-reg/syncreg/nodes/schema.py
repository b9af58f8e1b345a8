"""Tables of the SQL node backend."""
import sqlalchemy as sa

from synccore.schema import exact_string, metadata_with_conventions

metadata = metadata_with_conventions()

nodes = sa.Table(
    "nodes", metadata,
    sa.Column("nodeid", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("service", exact_string(32), nullable=False),
    sa.Column("url", exact_string(255), nullable=False),
    sa.Column("capacity", sa.Integer, nullable=False),
    sa.Column("assigned", sa.Integer, nullable=False, server_default="0"),
    sa.Column("down", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.UniqueConstraint("service", "url", name="uq_nodes_service_url"),
    mysql_engine="InnoDB", mysql_charset="utf8mb4",
)

node_assignments = sa.Table(
    "node_assignments", metadata,
    sa.Column("service", exact_string(32), primary_key=True),
    sa.Column("user_key", exact_string(255), primary_key=True),
    # No foreign key: nodes are never removed, and the backend keeps
    # ``nodes.assigned`` and these rows consistent in one transaction.
    sa.Column("nodeid", sa.Integer, nullable=False, index=True),
    mysql_engine="InnoDB", mysql_charset="utf8mb4",
)
