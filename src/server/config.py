"""Server configuration: every setting is an environment variable (see docs/configuration.md)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from psycopg.conninfo import conninfo_to_dict

PREFIX = "CALSYNC_"
ICLOUD_CALDAV_URL = "https://caldav.icloud.com/"
ALL_SUB_ACCOUNTS = "*"


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    listen: str = "127.0.0.1:50051"
    data_dir: Path = Path("data")
    event_store: str = "sqlite"
    postgres_url: str = ""
    postgres_schema: str = "public"
    cipher_key: str = ""
    vault_key: str = ""
    caldav_url: str = ICLOUD_CALDAV_URL
    caldav_timeout: float = 30.0
    caldav_verify_tls: bool | str = True
    # sha256(token) -> allowed sub-accounts ("*" for all)
    auth_tokens: Mapping[str, frozenset[str]] = field(default_factory=dict)
    read_wait_timeout: float = 5.0
    shutdown_grace: float = 10.0
    max_workers: int = 16
    # Event streams held open at once; each holds a server thread of its own,
    # on top of max_workers, so followers never starve unary calls.
    max_streams: int = 64
    projection_poll_interval: float = 1.0
    log_level: str = "INFO"
    # "text" (key=value, for people) or "json" (one object a line, for collectors)
    log_format: str = "text"
    # The Prometheus endpoint's port (on the gRPC address's host); 0: none.
    metrics_port: int = 0
    tls_cert_file: str = ""
    tls_key_file: str = ""
    sync_interval: float = 60.0
    sync_enabled: bool = True
    sync_now_wait: float = 60.0
    caldav_batch_size: int = 250
    # Worker processes that parse a large fetch (a first sync) on other cores; 0:
    # parse in the syncing process. From the environment: the cores, at most 4.
    parse_processes: int = 0
    # A calendar not synced for this long is stale (answers say so).
    stale_after: float = 600.0
    max_window_days: int = 62
    # Open conflicts kept on one appointment; times of one appointment held busy
    # while its CRM version is written back over a change in iCloud.
    max_open_conflicts: int = 50
    max_held_spans: int = 400
    # Changes of one calendar recorded in one transaction (and one turn on the
    # schedule): a first sync of thousands is recorded in parts, the checkpoint last.
    sync_record_batch: int = 500
    # Run the read-model projections inside the server (else: `calendar-integration project`).
    embedded_projections: bool = True
    # Write appointments to iCloud from the server (else: `calendar-integration push`).
    embedded_push: bool = True
    # How long a push process holds an appointment it is writing: renewed by a
    # heartbeat every third of it while the write runs, so a crashed process's
    # work is taken over after about this long.
    push_lease: float = 30.0
    # PostgreSQL connections this process may hold at once (all its uses share them).
    db_pool_size: int = 10
    # Seconds a caller waits for a free connection before the call is UNAVAILABLE.
    db_pool_timeout: float = 5.0
    # Seconds between checks of the database by the server's health (NOT_SERVING while down).
    db_check_interval: float = 5.0
    # The longest pause between attempts to reach the database at start.
    db_start_retry_max: float = 30.0
    # What this process does (serve, sync, push, project, rebuild): its PostgreSQL
    # application_name is <db_application_prefix>-<kind>. Set by the command.
    process_kind: str = "serve"
    # Tells fleets (or tenants' applications) on one PostgreSQL apart in pg_stat_activity.
    db_application_prefix: str = "calsync"
    # The relay of the log to NATS JetStream (`calendar-integration relay`).
    nats_url: str = "nats://127.0.0.1:4222"
    relay_stream: str = "CALSYNC_EVENTS"
    relay_subject_prefix: str = "calsync"
    relay_batch_size: int = 500
    # Publications awaiting JetStream's ack at once.
    relay_max_in_flight: int = 256
    relay_poll_interval: float = 1.0
    # The stream's duplicate window (set when the relay creates the stream).
    relay_duplicate_window: float = 120.0
    relay_ack_timeout: float = 10.0

    # The sync poller at scale: every calendar REPORTed regardless of its ctag this
    # often; account polls in flight per process; the sync lease, renewed while a
    # poll runs (a dead process's accounts move on within about two of these).
    sync_verify_every: float = 3600.0
    sync_concurrency: int = 64
    sync_lease: float = 30.0
    # Polls follow need: an account whose calendars changed within sync_active_for
    # seconds is polled every sync_active_interval seconds instead.
    sync_active_interval: float = 30.0
    sync_active_for: float = 3600.0
    # A polite client: sync requests in flight per CalDAV host, and per second over all hosts (0: no limit).
    caldav_host_concurrency: int = 64
    caldav_rate: float = 400.0

    # Subscribed calendars (iCalendar feeds): the whole fetch's time limit, the
    # largest body read, redirects followed; loopback and private addresses are
    # refused unless allowed (tests serve feeds on loopback).
    feed_timeout: float = 15.0
    feed_max_bytes: int = 10 * 1024 * 1024
    feed_max_redirects: int = 5
    feed_allow_private: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env

        def get(name: str, default: str = "") -> str:
            return env.get(PREFIX + name, default).strip()

        event_store = get("EVENT_STORE", "sqlite").lower()
        if event_store not in ("sqlite", "postgres"):
            raise ConfigError(f"{PREFIX}EVENT_STORE must be 'sqlite' or 'postgres', not {event_store!r}")
        postgres_url = get("POSTGRES_URL")
        if event_store == "postgres":
            if not postgres_url:
                raise ConfigError(f"{PREFIX}POSTGRES_URL is required when {PREFIX}EVENT_STORE=postgres")
            try:
                conninfo_to_dict(postgres_url)
            except Exception as error:
                raise ConfigError(f"{PREFIX}POSTGRES_URL is not a valid libpq URL: {error}") from None
        verify = get("CALDAV_VERIFY_TLS", "true")
        verify_tls: bool | str
        if verify.lower() in ("true", "1", "yes"):
            verify_tls = True
        elif verify.lower() in ("false", "0", "no"):
            verify_tls = False
        else:
            verify_tls = verify  # a CA bundle path
        log_format = get("LOG_FORMAT", "text").lower()
        if log_format not in ("text", "json"):
            raise ConfigError(f"{PREFIX}LOG_FORMAT must be 'text' or 'json', not {log_format!r}")
        log_level = get("LOG_LEVEL", "INFO").upper()
        if log_level not in ("DEBUG", "INFO", "WARNING", "WARN", "ERROR", "CRITICAL"):
            raise ConfigError(f"{PREFIX}LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, not {log_level!r}")
        tls_cert, tls_key = get("TLS_CERT_FILE"), get("TLS_KEY_FILE")
        if bool(tls_cert) != bool(tls_key):
            raise ConfigError(f"set both {PREFIX}TLS_CERT_FILE and {PREFIX}TLS_KEY_FILE, or neither")
        return cls(
            listen=get("LISTEN", "127.0.0.1:50051"),
            data_dir=Path(get("DATA_DIR", "data")),
            event_store=event_store,
            postgres_url=postgres_url,
            postgres_schema=get("POSTGRES_SCHEMA", "public"),
            cipher_key=get("CIPHER_KEY"),
            vault_key=get("VAULT_KEY"),
            caldav_url=get("CALDAV_URL", ICLOUD_CALDAV_URL),
            caldav_timeout=_positive(get, "CALDAV_TIMEOUT", "30"),
            caldav_verify_tls=verify_tls,
            auth_tokens=parse_auth_tokens(get("AUTH_TOKENS")),
            read_wait_timeout=_positive(get, "READ_WAIT_TIMEOUT", "5"),
            shutdown_grace=_positive(get, "SHUTDOWN_GRACE", "10"),
            max_workers=int(_positive(get, "MAX_WORKERS", "16")),
            max_streams=int(_positive(get, "MAX_STREAMS", "64")),
            projection_poll_interval=_positive(get, "PROJECTION_POLL_INTERVAL", "1"),
            log_level=log_level,
            log_format=log_format,
            metrics_port=_port(get, "METRICS_PORT"),
            tls_cert_file=tls_cert,
            tls_key_file=tls_key,
            sync_interval=_positive(get, "SYNC_INTERVAL", "60"),
            sync_enabled=get("SYNC_ENABLED", "true").lower() in ("true", "1", "yes"),
            sync_now_wait=_positive(get, "SYNC_NOW_WAIT", "60"),
            caldav_batch_size=int(_positive(get, "CALDAV_BATCH_SIZE", "250")),
            parse_processes=_count(get, "PARSE_PROCESSES", str(min(os.cpu_count() or 1, 4))),
            stale_after=_positive(get, "STALE_AFTER", "600"),
            max_window_days=int(_positive(get, "MAX_WINDOW_DAYS", "62")),
            max_open_conflicts=int(_positive(get, "MAX_OPEN_CONFLICTS", "50")),
            max_held_spans=int(_positive(get, "MAX_HELD_SPANS", "400")),
            sync_record_batch=int(_positive(get, "SYNC_RECORD_BATCH", "500")),
            embedded_projections=get("EMBEDDED_PROJECTIONS", "true").lower() in ("true", "1", "yes"),
            embedded_push=get("EMBEDDED_PUSH", "true").lower() in ("true", "1", "yes"),
            push_lease=_positive(get, "PUSH_LEASE", "30"),
            db_pool_size=_pool_size(get),
            db_pool_timeout=_positive(get, "DB_POOL_TIMEOUT", "5"),
            db_check_interval=_positive(get, "DB_CHECK_INTERVAL", "5"),
            db_start_retry_max=_positive(get, "DB_START_RETRY_MAX", "30"),
            db_application_prefix=_application_prefix(get("DB_APPLICATION_PREFIX", "calsync")),
            nats_url=get("NATS_URL", "nats://127.0.0.1:4222"),
            relay_stream=_nats_name(get, "RELAY_STREAM", "CALSYNC_EVENTS"),
            relay_subject_prefix=_subject_prefix(get, "RELAY_SUBJECT_PREFIX", "calsync"),
            relay_batch_size=int(_positive(get, "RELAY_BATCH_SIZE", "500")),
            relay_max_in_flight=int(_positive(get, "RELAY_MAX_IN_FLIGHT", "256")),
            relay_poll_interval=_positive(get, "RELAY_POLL_INTERVAL", "1"),
            relay_duplicate_window=_positive(get, "RELAY_DUPLICATE_WINDOW", "120"),
            relay_ack_timeout=_positive(get, "RELAY_ACK_TIMEOUT", "10"),

            sync_verify_every=_positive(get, "SYNC_VERIFY_EVERY", "3600"),
            sync_concurrency=int(_positive(get, "SYNC_CONCURRENCY", "64")),
            sync_lease=_positive(get, "SYNC_LEASE", "30"),
            sync_active_interval=_positive(get, "SYNC_ACTIVE_INTERVAL", "30"),
            sync_active_for=_positive(get, "SYNC_ACTIVE_FOR", "3600"),
            caldav_host_concurrency=int(_positive(get, "CALDAV_HOST_CONCURRENCY", "64")),
            caldav_rate=float(_count(get, "CALDAV_RATE", "400")),
            feed_timeout=_positive(get, "FEED_TIMEOUT", "15"),
            feed_max_bytes=int(_positive(get, "FEED_MAX_BYTES", str(10 * 1024 * 1024))),
            feed_max_redirects=int(_count(get, "FEED_MAX_REDIRECTS", "5")),
            feed_allow_private=get("FEED_ALLOW_PRIVATE", "false").lower() in ("true", "1", "yes"),
        )

    @property
    def application_name(self) -> str:
        """How this process shows in PostgreSQL's pg_stat_activity."""
        return f"{self.db_application_prefix}-{self.process_kind}"

    def public(self) -> dict[str, str]:
        """Every setting as the process uses it, without secrets: keys and tokens are
        only said to be set (or how many), a PostgreSQL URL loses its password."""
        shown: dict[str, str] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if name in ("cipher_key", "vault_key"):
                value = "set" if value else ("generated" if self.event_store == "sqlite" else "missing")
            elif name == "auth_tokens":
                value = f"{len(value)} tokens"
            elif name == "postgres_url":
                value = _without_password(value)
            elif name in ("caldav_url", "nats_url"):
                parts = urlsplit(value)  # user information in the URL would be a secret
                value = parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()
            elif isinstance(value, bool):
                value = str(value).lower()
            shown[name] = str(value)
        return shown

    def key_bytes(self, name: str) -> bytes:
        """The cipher or vault key: from the environment, or (SQLite only) a file
        generated once into the data directory with owner-only permissions."""
        configured = self.cipher_key if name == "cipher" else self.vault_key
        variable = f"{PREFIX}{name.upper()}_KEY"
        if not configured:
            if self.event_store != "sqlite":
                raise ConfigError(
                    f"{variable} is required with PostgreSQL (base64 of 32 random bytes): "
                    "`calendar-integration keys generate` prints a pair"
                )
            configured = _generated_key(self.data_dir / "keys" / f"{name}.key")
        try:
            key = base64.b64decode(configured, validate=True)
        except ValueError:
            raise ConfigError(f"{variable} must be base64") from None
        if len(key) not in (16, 24, 32):
            raise ConfigError(f"{variable} must decode to 16, 24 or 32 bytes")
        return key


def _without_password(url: str) -> str:
    if not url:
        return ""
    try:
        info = conninfo_to_dict(url)
    except Exception:
        return "(unreadable)"
    return " ".join(f"{k}={v}" for k, v in sorted(info.items()) if k != "password")


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def parse_auth_tokens(raw: str) -> dict[str, frozenset[str]]:
    """``{"<token>": ["sub-account", ...]}``; ``["*"]`` reaches every sub-account."""
    if not raw:
        return {}
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ConfigError(
            f'{PREFIX}AUTH_TOKENS must be a JSON object such as {{"t0k3n": ["*"]}}, but it is not JSON: {error}'
        ) from None
    if not isinstance(parsed, dict) or not all(
        isinstance(k, str) and k and isinstance(v, list) and all(isinstance(s, str) and s for s in v)
        for k, v in parsed.items()
    ):
        raise ConfigError(
            f'{PREFIX}AUTH_TOKENS must map each token to a list of sub-account ids, e.g. {{"t0k3n": ["*"]}}'
        )
    return {token_digest(k): frozenset(v) for k, v in parsed.items()}


# Connections a process holds for as long as it runs: LISTEN for new events (two
# in a server: its followers' and its history streams'), and the read model's lock.
# The pool must have room for them and for work beside them.
POOL_MINIMUM = 4


def _pool_size(get: object) -> int:
    size = _count(get, "DB_POOL_SIZE", "10")
    if size < POOL_MINIMUM:
        raise ConfigError(
            f"{PREFIX}DB_POOL_SIZE must be at least {POOL_MINIMUM}: up to three connections are held "
            "for as long as the process runs (LISTEN, the read model's lock)"
        )
    return size


def _application_prefix(raw: str) -> str:
    # PostgreSQL keeps 63 bytes of an application_name; printable ASCII only
    if not raw or len(raw) > 40 or not all(c.isascii() and (c.isalnum() or c in "-_.") for c in raw):
        raise ConfigError(f"{PREFIX}DB_APPLICATION_PREFIX must be 1-40 letters, digits, '-', '_' or '.'")
    return raw


def _count(get: object, name: str, default: str) -> int:
    raw = get(name, default)  # type: ignore[operator]
    if not str(raw).strip().isdigit():
        raise ConfigError(f"{PREFIX}{name} must be a whole number, 0 or more, not {raw!r}")
    return int(raw)


def _port(get: object, name: str) -> int:
    raw = str(get(name, "0")) or "0"  # type: ignore[operator]
    if not raw.isdigit() or int(raw) > 65535:
        raise ConfigError(f"{PREFIX}{name} must be a TCP port (1-65535), or 0 for none, not {raw!r}")
    return int(raw)


_NATS_TOKEN = re.compile(r"[A-Za-z0-9_-]+")


def _nats_name(get: object, name: str, default: str) -> str:
    """A JetStream stream name: letters, digits, '-' and '_' (no '.', '*', '>' or spaces)."""
    raw = str(get(name, default))  # type: ignore[operator]
    if not _NATS_TOKEN.fullmatch(raw) or len(raw) > 255:
        raise ConfigError(f"{PREFIX}{name} must be letters, digits, '-' or '_', not {raw!r}")
    return raw


def _subject_prefix(get: object, name: str, default: str) -> str:
    """NATS subject tokens joined by '.', each letters, digits, '-' or '_' (no wildcards)."""
    raw = str(get(name, default))  # type: ignore[operator]
    if not all(_NATS_TOKEN.fullmatch(token) for token in raw.split(".")):
        raise ConfigError(
            f"{PREFIX}{name} must be tokens of letters, digits, '-' or '_' joined by '.', not {raw!r}"
        )
    return raw


def _positive(get: object, name: str, default: str) -> float:
    raw = get(name, default)  # type: ignore[operator]
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{PREFIX}{name} must be a number, not {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{PREFIX}{name} must be positive")
    return value


def _generated_key(path: Path) -> str:
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, stat.S_IRWXU)
    key = base64.b64encode(os.urandom(32)).decode()
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(key)
    return key
