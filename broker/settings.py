"""The one settings class. Read once (``Settings()``), passed down; nothing else reads the
environment. Every field can be set as ``AIGUILLAGE_<NAME>``.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from broker.crypto import SecretBox
from broker.event_loop import EventLoopName


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AIGUILLAGE_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8000
    # The public base URL; also the OAuth issuer (RFC 8414 §2). No trailing slash.
    issuer: str = "http://127.0.0.1:8000"
    database_url: str = "sqlite+aiosqlite:///var/aiguillage.sqlite3"

    # AES-256-GCM key for holder credentials at rest, base64 (32 bytes). Rotation: list the
    # old keys in ``old_encryption_keys`` so older ciphertexts stay readable.
    encryption_key: SecretStr = Field(default=SecretStr(""))
    old_encryption_keys: list[SecretStr] = Field(default_factory=list)
    # Where the broker's signing key (EC P-256, JWK) lives; created on first start.
    signing_key_path: Path = Path("var/signing-key.json")
    # A session cookie needs ``Secure`` in production; loopback demos run plain HTTP.
    cookie_secure: bool = True
    operator_token: SecretStr = Field(default=SecretStr(""))
    # When set, ``GET /metrics`` requires ``Authorization: Bearer <metrics_token>``; unset,
    # it is open, for scrapers on a private network or loopback (``broker/ops/metrics.py``).
    metrics_token: SecretStr = Field(default=SecretStr(""))
    # A service's ``jwks_uri`` must be https; tests and the demo may allow plain http to a
    # loopback address (``broker/oauth/service_keys.py``).
    jwks_allow_http_loopback: bool = False

    access_token_ttl: int = 600
    authorization_code_ttl: int = 60
    par_ttl: int = 90
    session_ttl: int = 3600
    # Failed logins allowed per client address in 15 minutes (each login name has its own
    # limit of 5 too), for the resident and the console login alike (broker/web/throttle.py).
    login_failures_per_address: int = Field(default=20, ge=1)
    # Reverse proxies (addresses or networks) whose X-Forwarded-For is believed; empty:
    # the client is the TCP peer, whatever headers say.
    trusted_proxies: list[str] = Field(default_factory=list)
    # How long a resident has to go through login, consent and holder linking.
    authorization_ttl: int = 900
    max_body_bytes: int = 64 * 1024
    holder_timeout: float = 30.0
    expiry_interval: float = 60.0
    # The dashboard warns a resident this many days before a consent reaches its end.
    expiry_warning_days: int = 14
    job_poll_interval: float = 1.0
    # How long a claimed job stays with the instance that took it; if that instance dies,
    # another one takes the job once the lease has run out. Longer than any job runs.
    job_lease: float = 120.0
    # Housekeeping: how often expired OAuth state, sessions and rate windows are purged,
    # and how long after expiry a row is kept (so late replays are still recognised).
    purge_interval: float = 3600.0
    purge_grace: float = 86400.0
    log_json: bool = True
    # Holder records cached by the data plane (broker/holder_cache.py) are reloaded after
    # this many seconds even without an invalidation (a change made by hand, or by the CLI
    # in another process on SQLite). 0 turns the cache off.
    holder_cache_seconds: float = 5.0
    # SQLite only: PRAGMA synchronous. ``full`` (default) syncs the WAL on every commit, so a
    # committed transfer's ledger entry survives a power cut; ``normal`` syncs only at
    # checkpoints: a power cut (not a crash of the process) may lose the last commits.
    sqlite_synchronous: Literal["full", "normal"] = "full"
    # PostgreSQL only: a pooled connection idle for this many seconds is pinged before use
    # (broker/storage/pg_liveness.py). 0 pings at every checkout (behind PgBouncer in
    # transaction mode).
    pg_alive_window: float = Field(default=1.0, ge=0, le=60)
    # The event loop of ``aiguillage serve`` (broker/event_loop.py): uvloop, or asyncio's own.
    event_loop: EventLoopName = "uvloop"

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        # Checked here, at start, rather than by the first login behind the proxy, which
        # would fail on a typo in the deployment's configuration.
        for entry in filter(str.strip, value):  # blank entries are ignored, as there
            ipaddress.ip_network(entry.strip(), strict=False)  # ValueError names the entry
        return value

    @field_validator("issuer")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    def encryption_key_bytes(self) -> bytes:
        raw = self.encryption_key.get_secret_value()
        if not raw:
            raise ValueError("AIGUILLAGE_ENCRYPTION_KEY is not set (32 bytes, base64)")
        return SecretBox.decode_key(raw)
