"""Devices of an account and the commands they send each other (e.g. "send tab").

Each session registers at most one device (name, type, push subscription,
the commands it accepts). A command is queued for its target, which fetches
it with ``GET /v1/account/device/commands?index=N`` (commands at index N and
later) when it polls, e.g. at each sync. This server sends no push
messages, so ``devices/notify`` is accepted and does nothing.
"""
from __future__ import annotations

import secrets
from typing import Any

from pyramid.request import Request
from pyramid.response import Response

from syncreg.fxa import errors
from syncreg.fxa.errors import Errno
from syncreg.fxa.onepw import is_hex
from syncreg.fxa.store import Device
from syncreg.fxa.views.common import json_body, json_response, string_field, with_session

DEVICE_TYPES = ("desktop", "mobile", "tablet", "vr", "tv")
MAX_COMMANDS_PER_FETCH = 100
MAX_PAYLOAD_BYTES = 16 * 1024


def _optional_string(body: dict[str, Any], name: str, max_length: int) -> str | None:
    value = body.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > max_length:
        raise errors.invalid_parameter(name)
    return value


def _commands(body: dict[str, Any], current: dict[str, str]) -> dict[str, str]:
    value = body.get("availableCommands", current)
    if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and len(k) <= 255 and len(v) <= 4096
            for k, v in value.items()):
        raise errors.invalid_parameter("availableCommands")
    return value


def describe(device: Device, current_session: str | None = None) -> dict[str, Any]:
    return {"id": device.id, "name": device.name, "type": device.type,
            "createdAt": device.created_at, "lastAccessTime": device.last_access_at,
            "isCurrentDevice": device.session_id is not None
            and device.session_id == current_session,
            "pushCallback": device.push_callback, "pushPublicKey": device.push_public_key,
            "pushAuthKey": device.push_auth_key, "pushEndpointExpired": False,
            "availableCommands": device.available_commands, "location": {}}


@with_session
def register(request: Request) -> Response:
    """Register this session's device (no ``id``) or update one (``id``)."""
    body = json_body(request)
    account, session = request.fxa_account, request.fxa_session
    store = request.registry.accounts.store
    now = request.registry.accounts.now_ms()
    existing = None
    if "id" in body:
        device_id = body["id"]
        if not is_hex(device_id, 32):
            raise errors.invalid_parameter("id")
        existing = store.get_device(account.uid, device_id)
        if existing is None:
            raise errors.bad_request(Errno.UNKNOWN_DEVICE, "Unknown device")
    name = string_field(body, "name", default=existing.name if existing else None)
    device_type = body.get("type", existing.type if existing else "desktop")
    if device_type not in DEVICE_TYPES:
        raise errors.invalid_parameter("type")
    push = {field: _optional_string(body, key, max_length)
            for field, key, max_length in (("push_callback", "pushCallback", 2048),
                                           ("push_public_key", "pushPublicKey", 255),
                                           ("push_auth_key", "pushAuthKey", 255))}
    if existing is not None:
        push = {field: value if value is not None else getattr(existing, field)
                for field, value in push.items()}
    device = Device(id=existing.id if existing else secrets.token_hex(16), uid=account.uid,
                    session_id=session.id, name=name, type=device_type,
                    created_at=existing.created_at if existing else now, last_access_at=now,
                    available_commands=_commands(
                        body, existing.available_commands if existing else {}),
                    **push)
    return json_response(describe(store.save_device(device), session.id))


@with_session
def list_devices(request: Request) -> Response:
    store = request.registry.accounts.store
    return json_response([describe(device, request.fxa_session.id)
                          for device in store.list_devices(request.fxa_account.uid)])


@with_session
def attached_clients(request: Request) -> Response:
    """Sessions (with their devices) and OAuth clients holding refresh tokens."""
    account, session = request.fxa_account, request.fxa_session
    store = request.registry.accounts.store
    devices = {device.session_id: device for device in store.list_devices(account.uid)}
    clients = []
    for other in store.list_sessions(account.uid):
        device = devices.get(other.id)
        clients.append({
            "clientId": None, "deviceId": device.id if device else None,
            "sessionTokenId": other.id, "refreshTokenId": None,
            "isCurrentSession": other.id == session.id,
            "deviceType": device.type if device else None,
            "name": device.name if device else None, "scope": None,
            "createdTime": other.created_at, "lastAccessTime": other.last_access_at,
            "location": {}, "userAgent": other.user_agent, "os": None})
    for token in store.list_refresh_tokens(account.uid):
        clients.append({
            "clientId": token.client_id, "deviceId": None, "sessionTokenId": None,
            "refreshTokenId": token.token_hash, "isCurrentSession": False,
            "deviceType": None, "name": None, "scope": token.scope.split(),
            "createdTime": token.created_at, "lastAccessTime": token.last_used_at,
            "location": {}, "userAgent": "", "os": None})
    response = json_response(clients)
    response.headers["X-Timestamp"] = str(request.registry.accounts.now_ms())
    return response


@with_session
def destroy(request: Request) -> Response:
    body = json_body(request)
    device_id = body.get("id")
    if not is_hex(device_id, 32):
        raise errors.invalid_parameter("id")
    if not request.registry.accounts.store.delete_device(request.fxa_account.uid, device_id):
        raise errors.bad_request(Errno.UNKNOWN_DEVICE, "Unknown device")
    return json_response({})


def _current_device(request: Request) -> Device:
    store = request.registry.accounts.store
    for device in store.list_devices(request.fxa_account.uid):
        if device.session_id == request.fxa_session.id:
            return device
    raise errors.bad_request(Errno.UNKNOWN_DEVICE, "This session has no device")


@with_session
def commands(request: Request) -> Response:
    index_text = request.GET.get("index", "0")
    limit_text = request.GET.get("limit", str(MAX_COMMANDS_PER_FETCH))
    if not index_text.isdigit() or not limit_text.isdigit() or int(limit_text) == 0:
        raise errors.invalid_parameter("index" if not index_text.isdigit() else "limit")
    index, limit = int(index_text), min(int(limit_text), MAX_COMMANDS_PER_FETCH)
    device = _current_device(request)
    queued = request.registry.accounts.store.list_commands(
        request.fxa_account.uid, device.id, index - 1, limit + 1)
    messages = [{"index": command.index,
                 "data": {"command": command.command, "payload": command.payload,
                          "sender": command.sender}} for command in queued[:limit]]
    return json_response({"index": messages[-1]["index"] if messages else index,
                          "last": len(queued) <= limit, "messages": messages})


@with_session
def invoke_command(request: Request) -> Response:
    body = json_body(request)
    target, command = body.get("target"), string_field(body, "command")
    payload = body.get("payload")
    if not is_hex(target, 32):
        raise errors.invalid_parameter("target")
    if not isinstance(payload, dict) or len(request.body) > MAX_PAYLOAD_BYTES:
        raise errors.invalid_parameter("payload")
    store = request.registry.accounts.store
    account = request.fxa_account
    device = store.get_device(account.uid, target)
    if device is None:
        raise errors.bad_request(Errno.UNKNOWN_DEVICE, "Unknown device")
    if command not in device.available_commands:
        raise errors.invalid_parameter("command")
    sender = next((d.id for d in store.list_devices(account.uid)
                   if d.session_id == request.fxa_session.id), None)
    index = store.add_command(account.uid, target, sender, command, payload,
                              request.registry.accounts.now_ms())
    return json_response({"enqueued": True, "notified": False, "notifyError": "no push",
                          "index": index})


@with_session
def notify(request: Request) -> Response:
    json_body(request)
    return json_response({})
