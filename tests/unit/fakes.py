"""In-memory stand-ins for pure unit tests only; integration tests use real servers."""

from __future__ import annotations

from calendar_domain.errors import InvalidCredentials, NotFound, ProviderUnavailable
from calendar_domain.ports import DiscoveredCalendar


class FakeDiscovery:
    def __init__(self) -> None:
        self.accounts: dict[str, tuple[str, list[DiscoveredCalendar]]] = {}
        self.down = False
        self.calls = 0

    def add(self, apple_id: str, password: str, *hrefs: str) -> None:
        self.accounts[apple_id.lower()] = (
            password,
            [DiscoveredCalendar(href=h, display_name=h.strip("/").split("/")[-1], color="", writable=True) for h in hrefs],
        )

    def discover(self, apple_id: str, app_password: str) -> list[DiscoveredCalendar]:
        self.calls += 1
        if self.down:
            raise ProviderUnavailable("server down")
        password, calendars = self.accounts.get(apple_id.lower(), ("", []))
        if password != app_password:
            raise InvalidCredentials("use an app-specific password")
        return list(calendars)


class FakeVault:
    def __init__(self) -> None:
        self.secrets: dict[str, str] = {}

    def store(self, credential_ref: str, secret: str) -> None:
        self.secrets[credential_ref] = secret

    def fetch(self, credential_ref: str) -> str:
        if credential_ref not in self.secrets:
            raise NotFound("no credential")
        return self.secrets[credential_ref]

    def destroy(self, credential_ref: str) -> None:
        self.secrets.pop(credential_ref, None)
