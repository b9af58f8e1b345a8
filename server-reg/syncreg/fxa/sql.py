"""The SQL accounts store (SQLite, MySQL/MariaDB, PostgreSQL)."""
from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from synccore.db import ping, translate_db_errors, write_transaction
from synccore.migrations import MigrationSet, upgrade
from syncreg.database import engine_from_settings
from syncreg.fxa.schema import (
    fxa_accounts,
    fxa_device_commands,
    fxa_devices,
    fxa_oauth_codes,
    fxa_refresh_tokens,
    fxa_sessions,
    fxa_signing_keys,
)
from syncreg.fxa.store import (
    Account,
    AccountExists,
    AccountStore,
    AuthorizationCode,
    Device,
    DeviceCommand,
    RefreshToken,
    Session,
)

MIGRATIONS = MigrationSet(name="accounts", script_location="syncreg.fxa:migrations",
                          version_table="alembic_version_fxa")


def _account(row: Any) -> Account:
    return Account(uid=row.uid, email=row.email, auth_hash=row.auth_hash,
                   wrap_kb=bytes.fromhex(row.wrap_kb), verified=bool(row.verified),
                   created_at=row.created_at, verifier_set_at=row.verifier_set_at,
                   keys_changed_at=row.keys_changed_at)


def _session(row: Any) -> Session:
    return Session(id=row.id, uid=row.uid, hawk_key=bytes.fromhex(row.hawk_key),
                   created_at=row.created_at, last_access_at=row.last_access_at,
                   user_agent=row.user_agent)


def _session_values(session: Session) -> dict[str, Any]:
    return {"id": session.id, "uid": session.uid, "hawk_key": session.hawk_key.hex(),
            "created_at": session.created_at, "last_access_at": session.last_access_at,
            "user_agent": session.user_agent[:255]}


def _device(row: Any) -> Device:
    return Device(id=row.id, uid=row.uid, session_id=row.session_id, name=row.name,
                  type=row.type, created_at=row.created_at,
                  last_access_at=row.last_access_at, push_callback=row.push_callback,
                  push_public_key=row.push_public_key, push_auth_key=row.push_auth_key,
                  available_commands=json.loads(row.available_commands))


def _refresh_token(row: Any) -> RefreshToken:
    return RefreshToken(token_hash=row.token_hash, uid=row.uid, client_id=row.client_id,
                        scope=row.scope, created_at=row.created_at,
                        last_used_at=row.last_used_at)


def _drop_devices(conn: Connection, where: Any) -> None:
    """Remove the devices matching ``where`` and their queued commands."""
    doomed = [row.id for row in conn.execute(sa.select(fxa_devices.c.id).where(where))]
    if doomed:
        conn.execute(fxa_device_commands.delete().where(
            fxa_device_commands.c.target.in_(doomed)))
        conn.execute(fxa_devices.delete().where(fxa_devices.c.id.in_(doomed)))


class SQLAccountStore(AccountStore):
    def __init__(self, engine: Engine):
        self.engine = engine

    def upgrade_schema(self) -> None:
        upgrade(MIGRATIONS, self.engine)

    # -- accounts --------------------------------------------------------------

    @translate_db_errors
    def create_account(self, account: Account, session: Session) -> None:
        try:
            with write_transaction(self.engine) as conn:
                conn.execute(fxa_accounts.insert().values(
                    uid=account.uid, email=account.email,
                    normalized_email=account.email.lower(), auth_hash=account.auth_hash,
                    wrap_kb=account.wrap_kb.hex(), verified=account.verified,
                    created_at=account.created_at, verifier_set_at=account.verifier_set_at,
                    keys_changed_at=account.keys_changed_at))
                conn.execute(fxa_sessions.insert().values(**_session_values(session)))
        except sa.exc.IntegrityError as exc:
            raise AccountExists(account.email) from exc

    def _one_account(self, where: Any) -> Account | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(fxa_accounts).where(where)).first()
        return None if row is None else _account(row)

    @translate_db_errors
    def get_account(self, uid: str) -> Account | None:
        return self._one_account(fxa_accounts.c.uid == uid)

    @translate_db_errors
    def find_account(self, email: str) -> Account | None:
        return self._one_account(fxa_accounts.c.normalized_email == email.lower())

    def _update_account(self, uid: str, **values: Any) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(fxa_accounts.update().where(fxa_accounts.c.uid == uid)
                         .values(**values))

    @translate_db_errors
    def set_verified(self, uid: str) -> None:
        self._update_account(uid, verified=True)

    @translate_db_errors
    def set_auth_hash(self, uid: str, auth_hash: str) -> None:
        self._update_account(uid, auth_hash=auth_hash)

    @translate_db_errors
    def change_credentials(self, uid: str, auth_hash: str, wrap_kb: bytes,
                           verifier_set_at: int, keys_changed_at: int,
                           keep_session: str | None) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(fxa_accounts.update().where(fxa_accounts.c.uid == uid).values(
                auth_hash=auth_hash, wrap_kb=wrap_kb.hex(), verifier_set_at=verifier_set_at,
                keys_changed_at=keys_changed_at))
            others = fxa_sessions.c.uid == uid
            if keep_session is not None:
                others = sa.and_(others, fxa_sessions.c.id != keep_session)
            doomed = [row.id for row in conn.execute(sa.select(fxa_sessions.c.id)
                                                     .where(others))]
            if doomed:
                _drop_devices(conn, fxa_devices.c.session_id.in_(doomed))
                conn.execute(fxa_sessions.delete().where(fxa_sessions.c.id.in_(doomed)))
            conn.execute(fxa_refresh_tokens.delete().where(fxa_refresh_tokens.c.uid == uid))

    @translate_db_errors
    def delete_account(self, uid: str) -> bool:
        with write_transaction(self.engine) as conn:
            for table in (fxa_device_commands, fxa_devices, fxa_sessions, fxa_oauth_codes,
                          fxa_refresh_tokens):
                conn.execute(table.delete().where(table.c.uid == uid))
            return conn.execute(fxa_accounts.delete()
                                .where(fxa_accounts.c.uid == uid)).rowcount == 1

    # -- sessions --------------------------------------------------------------

    @translate_db_errors
    def add_session(self, session: Session) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(fxa_sessions.insert().values(**_session_values(session)))

    @translate_db_errors
    def get_session(self, session_id: str) -> Session | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(fxa_sessions)
                               .where(fxa_sessions.c.id == session_id)).first()
        return None if row is None else _session(row)

    @translate_db_errors
    def touch_session(self, session_id: str, now: int) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(fxa_sessions.update()
                         .where(fxa_sessions.c.id == session_id,
                                fxa_sessions.c.last_access_at < now)
                         .values(last_access_at=now))
            conn.execute(fxa_devices.update()
                         .where(fxa_devices.c.session_id == session_id,
                                fxa_devices.c.last_access_at < now)
                         .values(last_access_at=now))

    @translate_db_errors
    def delete_session(self, session_id: str) -> None:
        with write_transaction(self.engine) as conn:
            _drop_devices(conn, fxa_devices.c.session_id == session_id)
            conn.execute(fxa_sessions.delete().where(fxa_sessions.c.id == session_id))

    @translate_db_errors
    def list_sessions(self, uid: str) -> list[Session]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(fxa_sessions).where(fxa_sessions.c.uid == uid)
                                .order_by(fxa_sessions.c.created_at, fxa_sessions.c.id))
            return [_session(row) for row in rows]

    # -- devices and their commands ----------------------------------------------

    @translate_db_errors
    def save_device(self, device: Device) -> Device:
        values = {"uid": device.uid, "session_id": device.session_id, "name": device.name,
                  "type": device.type, "push_callback": device.push_callback,
                  "push_public_key": device.push_public_key,
                  "push_auth_key": device.push_auth_key,
                  "available_commands": json.dumps(device.available_commands),
                  "last_access_at": device.last_access_at}
        with write_transaction(self.engine) as conn:
            existing = conn.execute(sa.select(fxa_devices).where(
                fxa_devices.c.id == device.id, fxa_devices.c.uid == device.uid)).first()
            if device.session_id is not None:
                # One device per session: a new registration replaces the old one.
                other = sa.and_(fxa_devices.c.session_id == device.session_id,
                                fxa_devices.c.id != device.id)
                _drop_devices(conn, other)
            if existing is None:
                conn.execute(fxa_devices.insert().values(
                    id=device.id, created_at=device.created_at, **values))
            else:
                conn.execute(fxa_devices.update().where(fxa_devices.c.id == device.id)
                             .values(**values))
            row = conn.execute(sa.select(fxa_devices)
                               .where(fxa_devices.c.id == device.id)).one()
        return _device(row)

    @translate_db_errors
    def get_device(self, uid: str, device_id: str) -> Device | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(fxa_devices).where(
                fxa_devices.c.uid == uid, fxa_devices.c.id == device_id)).first()
        return None if row is None else _device(row)

    @translate_db_errors
    def list_devices(self, uid: str) -> list[Device]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(fxa_devices).where(fxa_devices.c.uid == uid)
                                .order_by(fxa_devices.c.created_at, fxa_devices.c.id))
            return [_device(row) for row in rows]

    @translate_db_errors
    def delete_device(self, uid: str, device_id: str) -> bool:
        with write_transaction(self.engine) as conn:
            row = conn.execute(sa.select(fxa_devices.c.session_id).where(
                fxa_devices.c.uid == uid, fxa_devices.c.id == device_id)).first()
            if row is None:
                return False
            _drop_devices(conn, fxa_devices.c.id == device_id)
            if row.session_id is not None:
                conn.execute(fxa_sessions.delete().where(fxa_sessions.c.id == row.session_id))
            return True

    @translate_db_errors
    def add_command(self, uid: str, target: str, sender: str | None, command: str,
                    payload: dict[str, Any], now: int) -> int:
        with write_transaction(self.engine) as conn:
            result = conn.execute(fxa_device_commands.insert().values(
                uid=uid, target=target, sender=sender, command=command,
                payload=json.dumps(payload), created_at=now))
            return int(result.inserted_primary_key[0])

    @translate_db_errors
    def list_commands(self, uid: str, target: str, after_index: int,
                      limit: int) -> list[DeviceCommand]:
        table = fxa_device_commands
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(table).where(
                table.c.uid == uid, table.c.target == target, table.c.idx > after_index)
                .order_by(table.c.idx).limit(limit))
            return [DeviceCommand(index=row.idx, target=row.target, sender=row.sender,
                                  command=row.command, payload=json.loads(row.payload),
                                  created_at=row.created_at) for row in rows]

    # -- OAuth -----------------------------------------------------------------

    @translate_db_errors
    def add_code(self, code_hash: str, code: AuthorizationCode) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(fxa_oauth_codes.insert().values(
                code_hash=code_hash, uid=code.uid, client_id=code.client_id,
                scope=code.scope, code_challenge=code.code_challenge,
                keys_jwe=code.keys_jwe, session_id=code.session_id,
                expires_at=code.expires_at))

    @translate_db_errors
    def take_code(self, code_hash: str, now: int) -> AuthorizationCode | None:
        with write_transaction(self.engine) as conn:
            row = conn.execute(sa.select(fxa_oauth_codes)
                               .where(fxa_oauth_codes.c.code_hash == code_hash)).first()
            if row is None:
                return None
            deleted = conn.execute(fxa_oauth_codes.delete()
                                   .where(fxa_oauth_codes.c.code_hash == code_hash)).rowcount
        if deleted != 1 or row.expires_at <= now:
            return None
        return AuthorizationCode(uid=row.uid, client_id=row.client_id, scope=row.scope,
                                 code_challenge=row.code_challenge, keys_jwe=row.keys_jwe,
                                 session_id=row.session_id, expires_at=row.expires_at)

    @translate_db_errors
    def add_refresh_token(self, token: RefreshToken) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(fxa_refresh_tokens.insert().values(
                token_hash=token.token_hash, uid=token.uid, client_id=token.client_id,
                scope=token.scope, created_at=token.created_at,
                last_used_at=token.last_used_at))

    @translate_db_errors
    def get_refresh_token(self, token_hash: str) -> RefreshToken | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(fxa_refresh_tokens)
                               .where(fxa_refresh_tokens.c.token_hash == token_hash)).first()
        return None if row is None else _refresh_token(row)

    @translate_db_errors
    def touch_refresh_token(self, token_hash: str, now: int) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(fxa_refresh_tokens.update()
                         .where(fxa_refresh_tokens.c.token_hash == token_hash,
                                fxa_refresh_tokens.c.last_used_at < now)
                         .values(last_used_at=now))

    @translate_db_errors
    def delete_refresh_token(self, token_hash: str) -> bool:
        with write_transaction(self.engine) as conn:
            return conn.execute(fxa_refresh_tokens.delete().where(
                fxa_refresh_tokens.c.token_hash == token_hash)).rowcount == 1

    @translate_db_errors
    def list_refresh_tokens(self, uid: str) -> list[RefreshToken]:
        table = fxa_refresh_tokens
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(table).where(table.c.uid == uid)
                                .order_by(table.c.created_at, table.c.token_hash))
            return [_refresh_token(row) for row in rows]

    # -- signing keys and upkeep -------------------------------------------------

    @translate_db_errors
    def get_signing_key(self, name: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(fxa_signing_keys.c.private_pem)
                                .where(fxa_signing_keys.c.name == name)).scalar()

    @translate_db_errors
    def add_signing_key(self, name: str, private_pem: str, now: int) -> str:
        try:
            with write_transaction(self.engine) as conn:
                conn.execute(fxa_signing_keys.insert().values(
                    name=name, private_pem=private_pem, created_at=now))
        except sa.exc.IntegrityError:
            pass  # another process stored one first: use that one
        stored = self.get_signing_key(name)
        if stored is None:
            raise sa.exc.InvalidRequestError(f"signing key {name!r} vanished after insert")
        return stored

    @translate_db_errors
    def purge_expired_codes(self, now: int) -> int:
        with write_transaction(self.engine) as conn:
            return conn.execute(fxa_oauth_codes.delete()
                                .where(fxa_oauth_codes.c.expires_at <= now)).rowcount

    def ping(self) -> None:
        ping(self.engine)


def load_from_config(settings: dict[str, Any]) -> SQLAccountStore:
    store = SQLAccountStore(engine_from_settings(settings, "accounts.sqlalchemy.url"))
    if settings["db.auto_migrate"]:
        store.upgrade_schema()
    return store
