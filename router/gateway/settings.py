"""Gateway settings: the `gateway:` section of farebox.yaml, with the master key also read from FAREBOX_MASTER_KEY."""

from __future__ import annotations

import os
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from vendors.errors import ConfigError

__all__ = ["GatewaySettings", "split_config"]


class GatewaySettings(BaseModel):
    """How the gateway serves; every limit has a default that suits a small team."""

    model_config = ConfigDict(extra="forbid")

    master_key: SecretStr | None = None      # admin API, dashboard, and calls without a virtual key
    open_access: bool = False                # True: calls without any key are served (local development only)
    ledger: str | None = None                # ledger file or URL; default the process's (FAREBOX_LEDGER)
    state: str | None = None                 # redis://… shared rpm windows for several gateway processes
    # Records are committed by the ledger's batched writer after the answer, never on its path: within
    # ledger_flush_s (0.05 s), or within 1 s with ledger_batching; a failed commit's rows are kept and tried
    # again, and what is queued is committed at shutdown. A hard kill loses at most that window.
    ledger_batching: bool = False            # True: groups of up to 1 s (fewer, larger commits)
    ledger_flush_s: float = Field(default=0.05, gt=0)
    max_body_bytes: int = Field(default=4 * 1024 * 1024, gt=0)
    max_messages: int = Field(default=4096, gt=0)
    read_timeout_s: float = Field(default=30.0, gt=0)    # the whole request body must arrive within this
    keepalive_s: float = Field(default=10.0, gt=0)       # SSE ": keep-alive" while the first token is pending
    key_cache_s: float = Field(default=2.0, ge=0)        # a revoked key stops working within this
    spend_refresh_s: float = Field(default=1.0, ge=0)    # committed spend re-read at most this often per key
    metrics_public: bool = True                          # /metrics without a key (it names no key or secret)

    def master(self) -> str | None:
        if self.master_key is not None:
            return self.master_key.get_secret_value()
        return os.environ.get("FAREBOX_MASTER_KEY") or None


def split_config(data: dict[str, Any], where: str) -> tuple[dict[str, Any], GatewaySettings]:
    """(the Router's part of a config mapping, the gateway's settings from its `gateway:` section)."""
    data = dict(data)
    section = data.pop("gateway", None) or {}
    if not isinstance(section, dict):
        raise ConfigError(f"{where}: 'gateway' must be a mapping")
    try:
        return data, GatewaySettings.model_validate(section)
    except ValidationError as exc:
        problems = "; ".join(f"gateway.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"{where}: {problems}") from None
