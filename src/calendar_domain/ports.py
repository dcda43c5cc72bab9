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


class CalendarDiscovery(Protocol):
    """Proves credentials and lists the account's event calendars.

    Raises ``InvalidCredentials`` on HTTP 401, ``ProviderUnavailable`` when the
    server cannot be reached, times out or answers 5xx, and
    ``ProviderProtocolError`` when discovery data is missing or malformed.
    Only collections that hold events (VEVENT) are returned: reminder lists,
    inbox/outbox, notification and subscribed (webcal) collections are left out.
    """

    def discover(self, apple_id: str, app_password: str) -> list[DiscoveredCalendar]: ...


class CredentialVault(Protocol):
    """Keeps app-specific passwords outside the event log.

    Each secret is encrypted with a key of its own; ``destroy`` deletes that key
    and the ciphertext, so the secret can never be read again (crypto-shredding).
    """

    def store(self, credential_ref: str, secret: str) -> None: ...

    def fetch(self, credential_ref: str) -> str: ...

    def destroy(self, credential_ref: str) -> None: ...
