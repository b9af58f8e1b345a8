"""SyncServer full: storage, registration and core composed into one WSGI app."""
from __future__ import annotations

from typing import Any

from pyramid.config import Configurator
from pyramid.router import Router

from synccore.settings import as_list

COMPONENTS = ("synccore", "syncstorage", "syncreg")


def make_config(settings: dict[str, Any]) -> Configurator:
    config = Configurator(settings=settings)
    for component in COMPONENTS:
        config.include(component)
    for extra in as_list(settings.get("includes", "")):
        config.include(extra)
    return config


def main(global_config: dict[str, Any] | None = None, **settings: Any) -> Router:
    """The PasteDeploy app factory named by ``use = egg:SyncServer``."""
    return make_config(settings).make_wsgi_app()
