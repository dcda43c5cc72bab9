"""One CalDAV account session over the ``caldav`` library, with iCloud's ways.

Every request carries the timeout; failures become domain errors that name the
server (never the password): 401 → ``InvalidCredentials``; 429, or 503 with
Retry-After → ``ProviderThrottled``; refused, reset, timed out, other 5xx →
``ProviderUnavailable``; answers that are not CalDAV → ``ProviderProtocolError``.

iCloud answers on https://caldav.icloud.com/ but keeps each account's calendar
home on a partition host (pNN-caldav.icloud.com); the session follows the
absolute URLs the server gives and remembers the home it found.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast
from urllib.parse import quote, unquote, urljoin, urlsplit

from caldav.davclient import DAVClient
from caldav.elements import cdav, dav
from caldav.elements.base import BaseElement
from caldav.lib import error
from caldav.lib.url import URL
from caldav.response import DAVResponse, PropfindResult
from lxml import etree

from calendar_domain.errors import (
    InvalidCredentials,
    ProviderProtocolError,
    ProviderThrottled,
    ProviderUnavailable,
)

log = logging.getLogger(__name__)

INVALID_CREDENTIALS_MESSAGE = (
    "iCloud refused the credentials: use an app-specific password, not your Apple ID "
    "password; two-factor authentication must be on"
)
# Characters RFC 3986 allows unencoded in a path segment (besides unreserved ones).
_PATH_SAFE = "/:@!$&'()*+,;="


class CalDAVAccount:
    """A logged-in view of one account on one CalDAV service; close it after use."""

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        *,
        timeout: float,
        verify_tls: bool | str = True,
        home_url: str | None = None,
    ) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self.base_url = base_url
        self.timeout = timeout
        self.client = DAVClient(
            url=base_url,
            username=username,
            password=password,
            # iCloud speaks Basic over TLS: sending it up front saves a 401 round trip
            # on every session.
            auth_type="basic",
            timeout=timeout,  # type: ignore[arg-type]  # niquests accepts a float
            ssl_verify_cert=verify_tls,
            enable_rfc6764=False,
            rate_limit_handle=False,  # never sleep on 429/503: the scheduler backs off
        )
        # Every answer the session gets is counted (a sync reports its requests).
        self.requests = 0
        self._counting = threading.Lock()  # the fetching threads share the session
        self.client.session.hooks["response"].append(self._counted)
        # A home found earlier saves the two discovery PROPFINDs of every sync.
        self._home: str | None = None
        if home_url:
            self._settle_home(home_url)

    def _counted(self, response: Any, *_: Any, **__: Any) -> Any:
        with self._counting:
            self.requests += 1
        return response

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> CalDAVAccount:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def home_url(self) -> str:
        """The absolute URL of the calendar home (two PROPFINDs, once per session)."""
        if self._home is None:
            principal = self.href_property(self.base_url, dav.CurrentUserPrincipal(), "current-user-principal")
            self._settle_home(self.href_property(principal, cdav.CalendarHomeSet(), "calendar-home-set"))
        assert self._home is not None
        return self._home

    def _settle_home(self, home: str) -> None:
        """Talk to the host that serves the home from now on (iCloud's partition
        host): the caldav client resolves every calendar URL against its own."""
        self._home = home
        if origin(home) != origin(str(self.client.url)):
            self.client.url = URL.objectify(origin(home))

    def url_of(self, href: str) -> str:
        """An href (a path) on the host that serves the calendar home."""
        return urljoin(self.home_url(), href)

    def href_property(self, url: str, prop: BaseElement, name: str) -> str:
        """The absolute URL in a depth-0 href-valued property (relative hrefs resolved)."""
        for result in self.propfind(url, [prop], depth=0):
            value: Any = result.properties.get(str(prop.tag))
            if isinstance(value, list):  # several calendar-home-set hrefs: take the first
                value = value[0] if value else None
            if isinstance(value, str) and value.strip():
                return urljoin(url, value.strip())
        raise ProviderProtocolError(
            f"the calendar server at {origin(url)} did not report a {name} for the account"
        )

    def propfind(self, url: str, props: list[BaseElement], depth: int) -> list[PropfindResult]:
        body = etree.tostring(
            (dav.Propfind() + (dav.Prop() + props)).xmlelement(),
            encoding="utf-8",
            xml_declaration=True,
        ).decode("utf-8")
        with translated_errors(url):
            response: DAVResponse = self.client.propfind(url, body, depth=depth)
        check_status(response.status, url, "PROPFIND")
        return cast("list[PropfindResult]", list(response.results or []))


@contextmanager
def translated_errors(url: str) -> Iterator[None]:
    """Turns the HTTP library's and caldav's errors into domain errors."""
    where = origin(url)
    try:
        yield
    except error.AuthorizationError as exc:
        if exc.status == 403:
            raise ProviderProtocolError(
                f"the calendar server at {where} refused access (HTTP 403) to {urlsplit(url).path}"
            ) from exc
        raise InvalidCredentials(INVALID_CREDENTIALS_MESSAGE) from exc
    except error.RateLimitError as exc:  # 429, or 503 with Retry-After
        raise ProviderThrottled(
            f"the calendar server at {where} answered HTTP {exc.status}; try again later",
            retry_after=exc.retry_after_seconds,
        ) from exc
    except OSError as exc:
        # niquests/requests errors (refused, reset, timed out, TLS) are OSErrors.
        raise ProviderUnavailable(
            f"the calendar server at {where} could not be reached ({type(exc).__name__})"
        ) from exc
    except error.DAVError as exc:
        if exc.status is not None and int(exc.status) >= 500:
            raise ProviderUnavailable(f"the calendar server at {where} answered HTTP {exc.status}") from exc
        raise ProviderProtocolError(
            f"the calendar server at {where} gave an answer that is not valid CalDAV ({type(exc).__name__})"
        ) from exc
    except (etree.LxmlError, NotImplementedError, AssertionError) as exc:
        # Unparsable XML, an auth scheme caldav lacks, or a caldav internal
        # consistency check (raised outside PRODUCTION debug mode).
        raise ProviderProtocolError(
            f"the calendar server at {where} gave an answer that is not valid CalDAV ({type(exc).__name__})"
        ) from exc


def check_status(status: int, url: str, method: str) -> None:
    if status >= 500:
        raise ProviderUnavailable(f"the calendar server at {origin(url)} answered HTTP {status}")
    if status not in (200, 207):
        raise ProviderProtocolError(
            f"the calendar server at {origin(url)} answered HTTP {status} to {method} {urlsplit(url).path}"
        )


def canonical_path(url_or_path: str) -> str:
    """The path of a URL or href, percent-encoded one canonical way.

    Servers spell the same path differently (``%40`` or ``@``), and the caldav library
    hands out decoded hrefs; re-encoding the decoded path gives every resource a
    single spelling that is also safe to put back into a URL.
    """
    return quote(unquote(urlsplit(str(url_or_path)).path), safe=_PATH_SAFE)


def origin(url: str | None) -> str:
    """``scheme://host[:port]/`` of a URL, without any user information."""
    parts = urlsplit(url or "")
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}/" if parts.scheme else str(url or "")
