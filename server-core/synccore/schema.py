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


class ExactString(sa.types.TypeDecorator):
    """Text of at most ``length`` characters, compared exactly and ordered by
    code point on every engine: ``abc``/``ABC`` and ``a``/``a `` differ.

    MySQL keeps it as UTF-8 bytes in VARBINARY: its binary collations of
    VARCHAR still ignore trailing spaces (PAD SPACE), so ``a`` and ``a ``
    would be one key, and the NO PAD ones are named differently by MySQL and
    MariaDB. Byte order of UTF-8 is code point order, like PostgreSQL's
    ``C`` collation and SQLite's default.
    """
    impl = sa.String
    cache_ok = True

    def __init__(self, length: int):
        super().__init__(length)
        self.length = length

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine:
        if dialect.name == "mysql":
            return dialect.type_descriptor(mysql.VARBINARY(4 * self.length))
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.VARCHAR(self.length, collation="C"))
        return dialect.type_descriptor(sa.String(self.length))

    def process_bind_param(self, value, dialect):
        if dialect.name == "mysql" and isinstance(value, str):
            return value.encode("utf-8")
        return value

    def process_result_value(self, value, dialect):
        if isinstance(value, bytes | bytearray):
            return value.decode("utf-8")
        return value


def exact_string(length: int) -> sa.types.TypeEngine:
    """A string compared and ordered byte-wise and case-sensitively on every engine."""
    return ExactString(length)
