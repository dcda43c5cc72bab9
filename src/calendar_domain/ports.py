"""What the domain needs from the outside world, as protocols.

Adapters implement them (``adapters.icloud``, ``adapters.persistence``); tests may
pass simple in-memory versions to pure unit tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class DiscoveredCalendar:
    """A calendar collection found by CalDAV discovery.

    ``href`` is the collection's path on the server (no scheme or host: iCloud
    moves accounts between partition hosts, the path stays).
    """

    href: str
    display_name: str
    color: str
    writable: bool
    kind: str = "calendar"  # or "subscription": a subscribed calendar of the account
    source: str = ""  # a subscription's feed host


class CalendarDiscovery(Protocol):
    """Proves credentials and lists the account's event calendars.

    Raises ``InvalidCredentials`` on HTTP 401, ``ProviderUnavailable`` when the
    server cannot be reached, times out or answers 5xx, and
    ``ProviderProtocolError`` when discovery data is missing or malformed.
    Only collections that hold events (VEVENT) are returned, and the account's
    subscribed (webcal) calendars as kind "subscription" (read only, with their
    feed's host): reminder lists, inbox/outbox and notification collections are
    left out.
    """

    def discover(self, apple_id: str, app_password: str) -> list[DiscoveredCalendar]: ...

    def subscription_source(self, apple_id: str, app_password: str, href: str) -> str:
        """The feed URL a subscribed calendar of the account points to (its
        calendarserver.org ``source``), as the account has it now."""
        ...


@dataclass(frozen=True)
class ProvedFeed:
    """A feed fetched and read once, before a subscription to it is saved."""

    url: str  # normalised
    host: str
    name: str  # the feed's X-WR-CALNAME, or its host
    events: int


class FeedProbe(Protocol):
    """Fetches a feed once and reads it. Raises ``InvalidValue`` (field given) for
    an address that may not be fetched, ``ProviderUnavailable`` when it cannot be
    reached, ``ProviderProtocolError`` when it answers but is not an iCalendar feed."""

    def normalise(self, field: str, url: str) -> str:
        """The URL as fetched (webcal as https, host lowercased), or ``InvalidValue``."""
        ...

    def prove(self, field: str, url: str) -> ProvedFeed: ...


class CredentialVault(Protocol):
    """Keeps app-specific passwords outside the event log.

    Each secret is encrypted with a key of its own; ``destroy`` deletes that key
    and the ciphertext, so the secret can never be read again (crypto-shredding).
    """

    def store(self, credential_ref: str, secret: str) -> None: ...

    def fetch(self, credential_ref: str) -> str: ...

    def destroy(self, credential_ref: str) -> None: ...
