"""Shared SQL schema conventions."""
import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def metadata_with_conventions() -> sa.MetaData:
    return sa.MetaData(naming_convention=NAMING_CONVENTION)


def exact_string(length: int) -> sa.types.TypeEngine:
    """A string compared and ordered byte-wise and case-sensitively on every engine."""
    return (sa.String(length)
            .with_variant(mysql.VARCHAR(length, charset="utf8mb4", collation="utf8mb4_bin"),
                          "mysql")
            .with_variant(postgresql.VARCHAR(length, collation="C"), "postgresql"))
