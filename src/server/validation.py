"""Collects every bad field of a request into one INVALID_ARGUMENT."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import TypeVar

from calendar_domain.errors import InvalidValue
from server.errors import invalid_argument

T = TypeVar("T")

MAX_PAGE_SIZE = 500


class Violations:
    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []

    def check(self, rule: Callable[[], T], default: T) -> T:
        try:
            return rule()
        except InvalidValue as error:
            self.items.append((error.field, error.message))
            return default

    def add(self, field: str, message: str) -> None:
        self.items.append((field, message))

    def page_size(self, field: str, value: int, default: int) -> int:
        if value < 0:
            self.add(field, f"{field} must not be negative")
            return default
        if value > MAX_PAGE_SIZE:
            self.add(field, f"{field} must be at most {MAX_PAGE_SIZE}")
            return default
        return value or default

    def page_token(self, field: str, token: str, kind: str) -> int:
        """Page tokens are opaque to callers: base64 of "<kind>:<last key>"."""
        if not token:
            return 0
        try:
            decoded = base64.urlsafe_b64decode(token.encode()).decode()
            token_kind, _, key = decoded.partition(":")
            if token_kind == kind and key.isdigit():
                return int(key)
        except (binascii.Error, UnicodeDecodeError, ValueError):
            pass
        self.add(field, f"{field} is not a token this list returned")
        return 0

    def non_negative(self, field: str, value: int) -> int:
        if value < 0:
            self.add(field, f"{field} must not be negative")
            return 0
        return value

    def raise_if_any(self) -> None:
        if self.items:
            raise invalid_argument(self.items)


def page_token(kind: str, key: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{key}".encode()).decode()


def offset_page(items: list[T], after: int, size: int, kind: str) -> tuple[list[T], str]:
    """One page of an in-memory list, and the token of the next page ("" at the end)."""
    page = items[after : after + size]
    return page, page_token(kind, after + size) if after + size < len(items) else ""
