"""The Storage 1.5 upload limits, as configured and as advertised to clients."""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class UploadLimits:
    """Every limit is inclusive: exactly the maximum is accepted."""
    max_request_bytes: int = 2_625_536
    max_post_records: int = 100
    max_post_bytes: int = 2_621_440
    max_total_records: int = 10_000
    max_total_bytes: int = 262_144_000
    max_record_payload_bytes: int = 2_621_440

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> UploadLimits:
        return cls(**{name: settings[f"storage15.{name}"] for name in cls.__dataclass_fields__})

    def configuration_json(self) -> str:
        """The body of ``GET /info/configuration``: all six keys, always."""
        return json.dumps(asdict(self))
