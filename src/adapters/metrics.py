"""Prometheus metrics of the service, in the default registry (names ``calsync_``).

Each area keeps its metrics in a block of its own.
"""

from __future__ import annotations

from prometheus_client import Counter

# -- the API contract: answers that are errors ----------------------------------------

RPC_ERRORS = Counter(
    "calsync_rpc_errors_total",
    "Calls answered with an error status, by RPC, status code and ErrorInfo reason",
    ["rpc", "code", "reason"],
)
