"""SyncServer registration: User API, node assignment and account services.

``config.include("syncreg")`` serves the node lookup a Sync 1.1 client makes
before it talks to storage: ``GET /user/1.0/{username}/node/weave`` answers
with the storage node's base URL (this server's public URL on a single box).
"""
from __future__ import annotations

from pyramid.config import Configurator

from synccore.settings import Setting, apply_settings

SETTINGS = {
    # The storage node handed to every user; empty means this server itself.
    "reg.fallback_node": Setting("", str),
}


def includeme(config: Configurator) -> None:
    config.include("synccore")
    apply_settings(config, SETTINGS)
    config.include("syncreg.views")
