"""Prometheus metrics of every process kind (``prometheus_client``, default registry,
names prefixed ``calsync_``). Each area keeps its metrics in a block of its own.
Defining a metric does no I/O; the endpoint is served by ``serve_metrics`` when
``CALSYNC_METRICS_PORT`` is set. docs/operations.md lists them."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

# --- gRPC calls (server interceptor) -------------------------------------------------
RPC_CALLS = Counter(
    "calsync_grpc_calls",
    "gRPC calls served, by service, method and status code",
    ["service", "method", "code"],
)
RPC_SECONDS = Histogram(
    "calsync_grpc_call_seconds",
    "How long gRPC calls took to answer (streams: until they ended), by service and method",
    ["service", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)


def observe_rpc(service: str, method: str, code: str, seconds: float) -> None:
    RPC_CALLS.labels(service, method, code).inc()
    RPC_SECONDS.labels(service, method).observe(seconds)


# --- syncs of iCloud accounts (adapters/icloud/poller.py) -----------------------------
SYNCS = Counter("calsync_syncs", "Account syncs run, by outcome (ok, partial, failed, throttled, reconnect_required)", ["outcome"])
SYNC_SECONDS = Histogram(
    "calsync_sync_seconds", "How long an account's sync took",
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
)
SYNC_REQUESTS = Counter("calsync_sync_requests", "HTTP requests made to the CalDAV server by syncs")


def observe_sync(outcome: str, seconds: float, requests: int) -> None:
    SYNCS.labels(outcome).inc()
    SYNC_SECONDS.observe(seconds)
    SYNC_REQUESTS.inc(requests)


# --- pushes of appointments to iCloud (adapters/icloud/pusher.py) ---------------------
PUSH_ATTEMPTS = Counter(
    "calsync_push_attempts",
    "Attempts to write an appointment to iCloud, by outcome (created, updated, deleted, found, retrying, failed, ...)",
    ["outcome"],
)
PUSH_FAILURES = Counter("calsync_push_failures", "Pushes given up (permanent failure, or too many attempts)")
PUSH_SECONDS = Histogram(
    "calsync_push_seconds", "How long one push attempt took",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)


def observe_push(outcome: str, seconds: float) -> None:
    PUSH_ATTEMPTS.labels(outcome).inc()
    if outcome == "failed":
        PUSH_FAILURES.inc()
    PUSH_SECONDS.observe(seconds)
