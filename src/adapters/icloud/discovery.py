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
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from caldav.elements import cdav, dav, ical
from caldav.elements.base import BaseElement
from caldav.response import PropfindResult

from adapters.icloud.dav import NOT_EVENT_CALENDARS, SUBSCRIBED, CalDAVAccount, canonical_path
from adapters.feeds.fetch import feed_host, feed_url
from calendar_domain.errors import InvalidValue, ProviderProtocolError
from calendar_domain.ports import DiscoveredCalendar
from calendar_domain.values import account_id_for

log = logging.getLogger(__name__)

_CALENDAR = cdav.Calendar.tag
_WRITE_PRIVILEGES = frozenset({"{DAV:}write", "{DAV:}write-content", "{DAV:}all"})
_COLOR = re.compile(r"#([0-9A-Fa-f]{6})(?:[0-9A-Fa-f]{2})?")


class Source(BaseElement):
    """calendarserver.org's ``source``: the feed URL of a subscribed calendar (an href)."""

    tag = "{http://calendarserver.org/ns/}source"


class CalDAVDiscovery:
    """Implements ``CalendarDiscovery`` over CalDAV.

    ``verify_tls`` is passed to the HTTP library: ``True``, ``False`` or the path of
    a CA bundle (tests use a self-signed certificate).
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float,
        verify_tls: bool | str = True,
        on_home: Callable[[str, str], None] | None = None,
    ) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self._base_url = base_url
        self._timeout = timeout
        self._verify_tls = verify_tls
        # (account id, calendar home URL) of each account discovered: kept, the
        # syncs and pushes that follow need no discovery of their own.
        self._on_home = on_home

    def discover(self, apple_id: str, app_password: str) -> list[DiscoveredCalendar]:
        with CalDAVAccount(
            self._base_url, apple_id, app_password, timeout=self._timeout, verify_tls=self._verify_tls
        ) as account:
            calendars = self._discover(account)
            if self._on_home is not None:
                self._on_home(str(account_id_for(apple_id)), account.home_url())
        log.debug("discovered %d event calendars at %s", len(calendars), self._base_url)
        return calendars

    def subscription_source(self, apple_id: str, app_password: str, href: str) -> str:
        """The feed URL of one subscribed calendar of the account, as iCloud has it now."""
        with CalDAVAccount(
            self._base_url, apple_id, app_password, timeout=self._timeout, verify_tls=self._verify_tls
        ) as account:
            url = account.url_of(href)
            for result in account.propfind(url, [Source()], depth=0):
                source = _source(result.properties.get(Source.tag))
                if source:
                    return source
        raise ProviderProtocolError("the subscribed calendar does not name its feed (no source property)")

    def _discover(self, account: CalDAVAccount) -> list[DiscoveredCalendar]:
        home_url = account.home_url()
        props: list[BaseElement] = [
            dav.ResourceType(),
            dav.DisplayName(),
            ical.CalendarColor(),
            cdav.SupportedCalendarComponentSet(),
            dav.CurrentUserPrivilegeSet(),
            Source(),
        ]
        home_path = canonical_path(home_url)
        calendars = [
            calendar
            for result in account.propfind(home_url, props, depth=1)
            if canonical_path(result.href) != home_path
            and (calendar := _event_calendar(result)) is not None
        ]
        return sorted(calendars, key=lambda c: (c.display_name.casefold(), c.display_name, c.href))


def _event_calendar(result: PropfindResult) -> DiscoveredCalendar | None:
    """The collection as a ``DiscoveredCalendar`` if it is an event calendar, else None."""
    props = result.properties
    resource_types = set(_as_list(props.get(dav.ResourceType.tag)))
    if SUBSCRIBED in resource_types:
        return _subscription(result)
    if _CALENDAR not in resource_types or resource_types & NOT_EVENT_CALENDARS:
        return None
    components = _as_list(props.get(cdav.SupportedCalendarComponentSet.tag))
    # RFC 4791 5.2.3: without the property the collection accepts every component.
    if components and "VEVENT" not in {str(c).upper() for c in components}:
        return None
    privileges = props.get(dav.CurrentUserPrivilegeSet.tag)
    # A server that does not report privileges is taken to allow writing; a write
    # that is refused later surfaces as an error of its own.
    writable = privileges is None or bool(set(_as_list(privileges)) & _WRITE_PRIVILEGES)
    href = canonical_path(result.href)
    name = props.get(dav.DisplayName.tag)
    display_name = name.strip() if isinstance(name, str) and name.strip() else ""
    return DiscoveredCalendar(
        href=href,
        display_name=display_name or unquote(href.rstrip("/").rsplit("/", 1)[-1]),
        color=_normalise_color(props.get(ical.CalendarColor.tag)),
        writable=writable,
    )


def _subscription(result: PropfindResult) -> DiscoveredCalendar | None:
    """A subscribed calendar: read only, offered for a subscription to its feed
    (iCloud keeps no events in it: its devices fetch the feed)."""
    try:
        host = feed_host(feed_url("source", _source(result.properties.get(Source.tag))))
    except InvalidValue:
        return None  # nothing that can be subscribed to
    href = canonical_path(result.href)
    name = result.properties.get(dav.DisplayName.tag)
    display_name = name.strip() if isinstance(name, str) and name.strip() else host
    return DiscoveredCalendar(
        href=href, display_name=display_name, color=_normalise_color(result.properties.get(ical.CalendarColor.tag)),
        writable=False, kind="subscription", source=host,
    )


def _source(value: object) -> str:
    """The URL in a ``source`` property: the href's text (the library gives the
    text of a single href child, or a list of them)."""
    for item in _as_list(value):
        text = getattr(item, "text", item)
        if isinstance(text, str) and text.strip():
            return text.strip()
    return ""


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
