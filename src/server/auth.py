"""Bearer-token authentication and sub-account authorisation.

Each configured token names the sub-accounts it may reach (or "*" for all).
Tokens are compared by their SHA-256 digest, never kept in memory as given.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import grpc

from server.config import ALL_SUB_ACCOUNTS, token_digest
from server.errors import ServiceError


@dataclass(frozen=True)
class Caller:
    sub_accounts: frozenset[str]

    def may_reach(self, sub_account_id: str) -> bool:
        return ALL_SUB_ACCOUNTS in self.sub_accounts or sub_account_id in self.sub_accounts

    def require(self, sub_account_id: str) -> None:
        if not self.may_reach(sub_account_id):
            raise ServiceError(
                grpc.StatusCode.PERMISSION_DENIED,
                "SUB_ACCOUNT_NOT_ALLOWED",
                "this caller's token does not allow this sub-account",
                metadata={"sub_account_id": sub_account_id},
            )


class Authenticator:
    def __init__(self, tokens: Mapping[str, frozenset[str]]) -> None:
        self._callers = {digest: Caller(subs) for digest, subs in tokens.items()}

    def authenticate(self, context: grpc.ServicerContext) -> Caller:
        header = ""
        for key, value in context.invocation_metadata():
            if key == "authorization":
                header = value if isinstance(value, str) else value.decode()
                break
        scheme, _, token = header.partition(" ")
        if not header or scheme.lower() != "bearer" or not token.strip():
            raise ServiceError(
                grpc.StatusCode.UNAUTHENTICATED,
                "MISSING_CREDENTIALS",
                "send 'authorization: Bearer <token>' metadata",
            )
        caller = self._callers.get(token_digest(token.strip()))
        if caller is None:
            raise ServiceError(grpc.StatusCode.UNAUTHENTICATED, "INVALID_TOKEN", "the bearer token is not valid")
        return caller
