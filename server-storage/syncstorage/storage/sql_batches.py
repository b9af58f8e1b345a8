"""Statements of the SQL backend's batch uploads (Storage 1.5).

A batch is a row of ``batch_uploads`` (owner, collection, expiry) plus the
records staged in ``batch_upload_items``, holding only the fields the client
sent, merged per id as more requests arrive. ``SQLStorage`` runs these inside
its transactions; committing applies the staged records through the same
code as any other write.
"""
from __future__ import annotations

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from syncstorage.storage import BatchTooLargeError, RecordWrite
from syncstorage.storage.schema import batch_upload_items, batch_uploads

_ITEM_FIELDS = ("payload", "sortindex", "ttl_seconds")


def new_batch_id() -> str:
    """An unguessable urlsafe id (ids only need to be unique per user)."""
    return secrets.token_urlsafe(12)


def insert_batch(conn: Connection, userid: int, collection: str, batch_id: str,
                 expiry_seconds: int) -> None:
    conn.execute(batch_uploads.insert().values(userid=userid, batch=batch_id,
                                               collection=collection, expiry=expiry_seconds))


def lock_batch(conn: Connection, userid: int, collection: str, batch_id: str,
               now_seconds: int, locks_rows: bool) -> bool:
    """Whether the batch is open for this user and collection; locks it if so."""
    query = sa.select(batch_uploads.c.batch).where(
        batch_uploads.c.userid == userid, batch_uploads.c.batch == batch_id,
        batch_uploads.c.collection == collection, batch_uploads.c.expiry > now_seconds)
    if locks_rows:
        query = query.with_for_update()
    return conn.execute(query).first() is not None


def _merged(earlier: dict | None, write: RecordWrite) -> dict:
    """Staged fields after ``write``: what it gives replaces, what it omits stays."""
    merged = dict(earlier or dict.fromkeys(_ITEM_FIELDS))
    for field in _ITEM_FIELDS:
        value = getattr(write, field)
        if value is not None:
            merged[field] = value
    return merged


def stage(conn: Connection, userid: int, batch_id: str,
          records: Sequence[RecordWrite]) -> None:
    """Add ``records`` to the batch, merging them into what is staged under their ids."""
    if not records:
        return
    ids = list(dict.fromkeys(record.id for record in records))
    existing = {row.id: {field: getattr(row, field) for field in _ITEM_FIELDS}
                for row in conn.execute(
                    sa.select(batch_upload_items.c.id,
                              *(batch_upload_items.c[field] for field in _ITEM_FIELDS))
                    .where(batch_upload_items.c.userid == userid,
                           batch_upload_items.c.batch == batch_id,
                           batch_upload_items.c.id.in_(sa.bindparam("ids", expanding=True))),
                    {"ids": ids})}
    staged: dict[str, dict] = {}
    for record in records:
        staged[record.id] = _merged(staged.get(record.id, existing.get(record.id)), record)
    inserts, updates = [], []
    for record_id, fields in staged.items():
        payload = fields["payload"]
        values = {"b_id": record_id, **fields,
                  "payload_size": len(payload.encode("utf-8")) if payload is not None else 0}
        (updates if record_id in existing else inserts).append(values)
    if inserts:
        conn.execute(batch_upload_items.insert().values(
            userid=userid, batch=batch_id, id=sa.bindparam("b_id")), inserts)
    if updates:
        conn.execute(batch_upload_items.update().where(
            batch_upload_items.c.userid == userid, batch_upload_items.c.batch == batch_id,
            batch_upload_items.c.id == sa.bindparam("b_id")).values(
            **{name: sa.bindparam(name) for name in (*_ITEM_FIELDS, "payload_size")}),
            updates)


def check_staged_size(conn: Connection, userid: int, batch_id: str,
                      max_records: int | None, max_bytes: int | None) -> None:
    """BatchTooLargeError if what is staged is beyond the limits (both inclusive)."""
    if max_records is None and max_bytes is None:
        return
    count, size = conn.execute(
        sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(
            batch_upload_items.c.payload_size), 0))
        .where(batch_upload_items.c.userid == userid,
               batch_upload_items.c.batch == batch_id)).one()
    _check(count, int(size), max_records, max_bytes)


def check_writes_size(writes: Sequence[RecordWrite], max_records: int | None,
                      max_bytes: int | None) -> None:
    """BatchTooLargeError if ``writes`` (applied in order) exceed the limits."""
    payloads: dict[str, int] = {}
    for write in writes:
        if write.payload is not None:
            payloads[write.id] = len(write.payload.encode("utf-8"))
        else:
            payloads.setdefault(write.id, 0)
    _check(len(payloads), sum(payloads.values()), max_records, max_bytes)


def _check(count: int, size: int, max_records: int | None, max_bytes: int | None) -> None:
    if max_records is not None and count > max_records:
        raise BatchTooLargeError(f"{count} records in the batch, at most {max_records} allowed")
    if max_bytes is not None and size > max_bytes:
        raise BatchTooLargeError(f"{size} payload bytes in the batch, at most {max_bytes} allowed")


def staged_writes(conn: Connection, userid: int, batch_id: str) -> list[RecordWrite]:
    rows = conn.execute(
        sa.select(batch_upload_items.c.id,
                  *(batch_upload_items.c[field] for field in _ITEM_FIELDS))
        .where(batch_upload_items.c.userid == userid, batch_upload_items.c.batch == batch_id)
        .order_by(batch_upload_items.c.id))
    return [RecordWrite(id=row.id, payload=row.payload, sortindex=row.sortindex,
                        ttl_seconds=row.ttl_seconds) for row in rows]


def close_batch(conn: Connection, userid: int, batch_id: str) -> None:
    conn.execute(batch_upload_items.delete().where(batch_upload_items.c.userid == userid,
                                                   batch_upload_items.c.batch == batch_id))
    conn.execute(batch_uploads.delete().where(batch_uploads.c.userid == userid,
                                              batch_uploads.c.batch == batch_id))


def expired_batches(conn: Connection, now_seconds: int, limit: int) -> list[tuple[int, str]]:
    return [(row.userid, row.batch) for row in conn.execute(
        sa.select(batch_uploads.c.userid, batch_uploads.c.batch)
        .where(batch_uploads.c.expiry <= now_seconds).limit(limit))]
