"""Typed settings with their defaults, merged with the ini and the environment.

Each package declares a ``SettingsSpec`` (name -> default and parser) in one
place; ``apply_settings`` merges it into the Pyramid registry so every later
reader gets parsed, typed values.

Two ways to take a value from the environment:

* ``SYNC_<NAME>`` overrides any setting, with dots and dashes turned into
  underscores and upper-cased (``storage.quota_kb`` -> ``SYNC_STORAGE_QUOTA_KB``).
* A value written as ``${VARIABLE}`` in the ini is read from that variable, and
  start-up fails with a clear message when it is not set.
"""
from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

ENV_PREFIX = "SYNC_"
_ENV_REFERENCE = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")


class ConfigurationError(Exception):
    """A setting is missing, malformed or in conflict with another one."""


def as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"not a boolean: {value!r}")


def as_list(value: Any) -> list[str]:
    if isinstance(value, (list, tuple)):
        return [str(item) for item in value]
    return [item for item in re.split(r"[\s,]+", str(value).strip()) if item]


def as_optional_str(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


@dataclass(frozen=True)
class Setting:
    default: Any
    parse: Callable[[Any], Any] = str


SettingsSpec = Mapping[str, Setting]


def env_name(setting_name: str) -> str:
    return ENV_PREFIX + re.sub(r"[.\-]", "_", setting_name).upper()


def _resolve_env_reference(name: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    match = _ENV_REFERENCE.match(value.strip())
    if not match:
        return value
    variable = match.group(1)
    if variable not in os.environ:
        raise ConfigurationError(
            f"setting {name!r} reads the environment variable {variable}, which is not set"
        )
    return os.environ[variable]


def parse_settings(raw: Mapping[str, Any], spec: SettingsSpec,
                   environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Return the typed values of every setting in ``spec``.

    Precedence: environment override, then the ini value, then the default.
    """
    environ = os.environ if environ is None else environ
    parsed: dict[str, Any] = {}
    for name, setting in spec.items():
        value = environ.get(env_name(name), raw.get(name, setting.default))
        value = _resolve_env_reference(name, value)
        if value is None:
            parsed[name] = None
            continue
        try:
            parsed[name] = setting.parse(value)
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(f"setting {name!r}: {exc}") from exc
    return parsed


def apply_settings(config: Any, spec: SettingsSpec) -> dict[str, Any]:
    """Parse ``spec`` against the configurator's settings and store the results."""
    settings = config.get_settings()
    parsed = parse_settings(settings, spec)
    settings.update(parsed)
    return parsed
