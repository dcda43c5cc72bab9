"""CalDAV discovery for iCloud (and any RFC 4791 server): which event calendars exist.

Three PROPFINDs, each following the URL the server gave in the previous answer:

1. ``current-user-principal`` on the base URL (https://caldav.icloud.com/),
2. ``calendar-home-set`` on the principal (iCloud answers with an absolute URL on
   the account's partition host, pNN-caldav.icloud.com),
3. one depth-1 PROPFIND on the calendar home asking every child for its
   resourcetype, displayname, calendar-color, supported-calendar-component-set
   and current-user-privilege-set.

The requests and their bodies are built with the ``caldav`` library (``DAVClient``
and its element classes), which also negotiates Basic auth and parses the
multistatus answers. Every request carries ``timeout``. The password is handed to
the client and never logged or put into an error message.
"""

from __future__ import annotations

import logging
import re
from typing import Any, cast
from urllib.parse import quote, unquote, urljoin, urlsplit

from caldav.davclient import DAVClient
from caldav.elements import cdav, dav, ical
from caldav.elements.base import BaseElement
from caldav.lib import error
from caldav.response import DAVResponse, PropfindResult
from lxml import etree

from calendar_domain.errors import (
    InvalidCredentials,
    ProviderProtocolError,
    ProviderUnavailable,
)
from calendar_domain.ports import DiscoveredCalendar

log = logging.getLogger(__name__)

INVALID_CREDENTIALS_MESSAGE = (
    "iCloud refused the credentials: use an app-specific password, not your Apple ID "
    "password; two-factor authentication must be on"
)

_CALENDAR = cdav.Calendar.tag
_NOT_EVENT_CALENDARS = frozenset(
    {
        "{urn:ietf:params:xml:ns:caldav}schedule-inbox",
        "{urn:ietf:params:xml:ns:caldav}schedule-outbox",
        "{http://calendarserver.org/ns/}subscribed",
        "{http://calendarserver.org/ns/}notification",
    }
)
_WRITE_PRIVILEGES = frozenset({"{DAV:}write", "{DAV:}write-content", "{DAV:}all"})
_COLOR = re.compile(r"#([0-9A-Fa-f]{6})(?:[0-9A-Fa-f]{2})?")
# Characters RFC 3986 allows unencoded in a path segment (besides unreserved ones).
_PATH_SAFE = "/:@!$&'()*+,;="


class CalDAVDiscovery:
    """Implements ``CalendarDiscovery`` over CalDAV.

    ``verify_tls`` is passed to the HTTP library: ``True``, ``False`` or the path of
    a CA bundle (tests use a self-signed certificate).
    """

    def __init__(self, base_url: str, *, timeout: float, verify_tls: bool | str = True) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self._base_url = base_url
        self._timeout = timeout
        self._verify_tls = verify_tls

    def discover(self, apple_id: str, app_password: str) -> list[DiscoveredCalendar]:
        client = DAVClient(
            url=self._base_url,
            username=apple_id,
            password=app_password,
            timeout=self._timeout,  # type: ignore[arg-type]  # niquests accepts a float
            ssl_verify_cert=self._verify_tls,
            enable_rfc6764=False,
            rate_limit_handle=False,  # never sleep on 429/503: report it as unavailable
        )
        try:
            calendars = self._discover(client)
        finally:
            client.close()
        log.debug("discovered %d event calendars at %s", len(calendars), self._base_url)
        return calendars

    def _discover(self, client: DAVClient) -> list[DiscoveredCalendar]:
        principal_url = self._href_property(
            client, self._base_url, dav.CurrentUserPrincipal(), "current-user-principal"
        )
        home_url = self._href_property(
            client, principal_url, cdav.CalendarHomeSet(), "calendar-home-set"
        )
        props: list[BaseElement] = [
            dav.ResourceType(),
            dav.DisplayName(),
            ical.CalendarColor(),
            cdav.SupportedCalendarComponentSet(),
            dav.CurrentUserPrivilegeSet(),
        ]
        home_path = _canonical_path(home_url)
        calendars = [
            calendar
            for result in self._propfind(client, home_url, props, depth=1)
            if _canonical_path(result.href) != home_path
            and (calendar := _event_calendar(result)) is not None
        ]
        return sorted(calendars, key=lambda c: (c.display_name.casefold(), c.display_name, c.href))

    def _href_property(
        self, client: DAVClient, url: str, prop: BaseElement, name: str
    ) -> str:
        """The absolute URL in a depth-0 href-valued property (relative hrefs resolved)."""
        for result in self._propfind(client, url, [prop], depth=0):
            value: Any = result.properties.get(str(prop.tag))
            if isinstance(value, list):  # several calendar-home-set hrefs: take the first
                value = value[0] if value else None
            if isinstance(value, str) and value.strip():
                return urljoin(url, value.strip())
        raise ProviderProtocolError(
            f"the calendar server at {_origin(url)} did not report a {name} for the account"
        )

    def _propfind(
        self, client: DAVClient, url: str, props: list[BaseElement], depth: int
    ) -> list[PropfindResult]:
        body = etree.tostring(
            (dav.Propfind() + (dav.Prop() + props)).xmlelement(),
            encoding="utf-8",
            xml_declaration=True,
        ).decode("utf-8")
        origin = _origin(url)
        try:
            response: DAVResponse = client.propfind(url, body, depth=depth)
        except error.AuthorizationError as exc:
            if exc.status == 403:
                raise ProviderProtocolError(
                    f"the calendar server at {origin} refused access (HTTP 403) to "
                    f"{urlsplit(url).path}"
                ) from exc
            raise InvalidCredentials(INVALID_CREDENTIALS_MESSAGE) from exc
        except error.RateLimitError as exc:  # 429, or 503 with Retry-After
            raise ProviderUnavailable(
                f"the calendar server at {origin} answered HTTP {exc.status}; try again later"
            ) from exc
        except OSError as exc:
            # niquests/requests errors (refused, reset, timed out, TLS) are OSErrors.
            raise ProviderUnavailable(
                f"the calendar server at {origin} could not be reached ({type(exc).__name__})"
            ) from exc
        except (error.DAVError, etree.LxmlError, NotImplementedError, AssertionError) as exc:
            # Unparsable XML, a failed propstat status, an auth scheme caldav lacks, or a
            # caldav internal consistency check (raised outside PRODUCTION debug mode).
            raise ProviderProtocolError(
                f"the calendar server at {origin} gave an answer that is not valid CalDAV "
                f"({type(exc).__name__})"
            ) from exc
        if response.status >= 500:
            raise ProviderUnavailable(
                f"the calendar server at {origin} answered HTTP {response.status}"
            )
        if response.status not in (200, 207):
            raise ProviderProtocolError(
                f"the calendar server at {origin} answered HTTP {response.status} "
                f"to PROPFIND {urlsplit(url).path}"
            )
        return cast("list[PropfindResult]", list(response.results or []))


def _event_calendar(result: PropfindResult) -> DiscoveredCalendar | None:
    """The collection as a ``DiscoveredCalendar`` if it is an event calendar, else None."""
    props = result.properties
    resource_types = set(_as_list(props.get(dav.ResourceType.tag)))
    if _CALENDAR not in resource_types or resource_types & _NOT_EVENT_CALENDARS:
        return None
    components = _as_list(props.get(cdav.SupportedCalendarComponentSet.tag))
    # RFC 4791 5.2.3: without the property the collection accepts every component.
    if components and "VEVENT" not in {str(c).upper() for c in components}:
        return None
    privileges = props.get(dav.CurrentUserPrivilegeSet.tag)
    # A server that does not report privileges is taken to allow writing; a write
    # that is refused later surfaces as an error of its own.
    writable = privileges is None or bool(set(_as_list(privileges)) & _WRITE_PRIVILEGES)
    href = _canonical_path(result.href)
    name = props.get(dav.DisplayName.tag)
    display_name = name.strip() if isinstance(name, str) and name.strip() else ""
    return DiscoveredCalendar(
        href=href,
        display_name=display_name or unquote(href.rstrip("/").rsplit("/", 1)[-1]),
        color=_normalise_color(props.get(ical.CalendarColor.tag)),
        writable=writable,
    )


def _as_list(value: object) -> list[Any]:
    """caldav gives a list for elements with children, the text (or None) otherwise."""
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _normalise_color(value: object) -> str:
    """``#RRGGBB`` upper case from ``#RRGGBB`` or Apple's ``#RRGGBBAA``; ``""`` otherwise."""
    if not isinstance(value, str):
        return ""
    match = _COLOR.fullmatch(value.strip())
    return f"#{match.group(1).upper()}" if match else ""


def _canonical_path(url_or_path: str) -> str:
    """The path of a URL or href, percent-encoded one canonical way.

    Servers spell the same path differently (``%40`` or ``@``), and the caldav library
    hands out decoded hrefs; re-encoding the decoded path gives every collection a
    single spelling that is also safe to put back into a URL.
    """
    return quote(unquote(urlsplit(url_or_path).path), safe=_PATH_SAFE)


def _origin(url: str | None) -> str:
    """``scheme://host[:port]/`` of a URL, without any user information."""
    parts = urlsplit(url or "")
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}/" if parts.scheme else str(url or "")
