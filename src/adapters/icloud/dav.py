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

import base64
import email.utils
import http.cookiejar
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any, cast
from urllib.parse import quote, unquote, urljoin, urlsplit

import niquests
from caldav.davclient import DAVClient
from caldav.elements import cdav, dav
from caldav.elements.base import BaseElement
from caldav.lib import error
from caldav.lib.url import URL
from caldav.response import DAVResponse, PropfindResult
from lxml import etree

from adapters.icloud.throttle import HostGate
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


class _CountingClient(DAVClient):
    """The library's client, counting the requests it sends (every method goes
    through ``request``): a poll reports what it cost the server."""

    requests = 0
    gate: HostGate | None = None
    insist = False  # past a host's pause (SyncNow)
    _counting = threading.Lock()  # the fetching threads share the session

    def _count(self) -> None:
        with self._counting:
            self.requests += 1

    def request(self, *args: Any, **kwargs: Any) -> DAVResponse:
        url = str(args[0] if args else kwargs.get("url") or self.url)
        if self.gate is None:
            self._count()
            return super().request(*args, **kwargs)
        with self.gate.request(url, insist=self.insist):
            self._count()
            try:
                return super().request(*args, **kwargs)
            except error.RateLimitError as throttled:
                self.gate.throttled(url, throttled.retry_after_seconds)
                raise


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
        gate: HostGate | None = None,
        insist: bool = False,
    ) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self.base_url = base_url
        self.timeout = timeout
        self.client = _CountingClient(
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
        self.client.gate = gate  # requests in flight per host, the rate limit, throttled hosts
        self.client.insist = insist
        # A home found earlier saves the two discovery PROPFINDs of every sync.
        self._home: str | None = None
        if home_url:
            self._settle_home(home_url)

    def close(self) -> None:
        self.client.close()

    @property
    def requests(self) -> int:
        """Requests sent in this session so far."""
        return self.client.requests

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


    def calendar_tokens(self) -> dict[str, str]:
        """Every calendar collection in the home with its change token (see
        ``HomePoller``), through this session."""
        home = self.home_url()
        with translated_errors(home):
            response: DAVResponse = self.client.propfind(home, TOKENS_BODY, depth=1)
        check_status(response.status, home, "PROPFIND")
        if response.tree is None:
            raise ProviderProtocolError(f"the calendar server at {origin(home)} answered PROPFIND without a body")
        return calendar_tokens_of(response.tree, home)


class HomePoller:
    """The one request of a quiet poll: a depth-1 PROPFIND of a known calendar home
    asking each child for ``getctag`` (calendarserver.org) and ``sync-token``
    (RFC 6578 4; on iCloud the two are equal), sent on HTTP connections kept open
    for every account of the process (one pool per host, no cookies kept: each
    request carries its own account's Basic credentials).

    Without it, each poll built the library's client and session, opened a
    connection and closed it again, which cost more CPU than the rest of the poll.
    """

    def __init__(
        self, *, timeout: float, verify_tls: bool | str = True, connections_per_host: int = 32,
        gate: HostGate | None = None,
    ) -> None:
        self._gate = gate
        self._timeout = timeout
        self._verify = verify_tls
        self._size = connections_per_host
        self._session: Any = None
        self._lock = threading.Lock()

    def _http(self) -> Any:
        with self._lock:
            if self._session is None:
                session = niquests.Session(pool_connections=16, pool_maxsize=self._size)
                session.trust_env = False
                session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
                self._session = session
            return self._session

    def calendar_tokens(self, home: str, username: str, password: str, *, insist: bool = False) -> dict[str, str]:
        """Every calendar collection in the home with its ctag ("" when it reports
        neither property: only a REPORT can tell its changes). Errors are the
        domain's, as ``translated_errors`` gives them; a home that answers 404 or
        a redirect is ``HomeMoved``."""
        credentials = base64.b64encode(f"{username}:{password}".encode()).decode()
        headers = {
            "Authorization": f"Basic {credentials}", "Depth": "1",
            "Content-Type": "application/xml; charset=utf-8",
        }
        where = origin(home)
        with self._gate.request(home, insist=insist) if self._gate is not None else nullcontext():
            try:
                answer = self._http().request(
                    "PROPFIND", home, data=TOKENS_BODY.encode(), headers=headers,
                    timeout=self._timeout, verify=self._verify, allow_redirects=False,
                )
            except OSError as exc:
                raise ProviderUnavailable(
                    f"the calendar server at {where} could not be reached ({type(exc).__name__})"
                ) from exc
        status = answer.status_code
        if status == 401:
            raise InvalidCredentials(INVALID_CREDENTIALS_MESSAGE)
        retry_after = answer.headers.get("Retry-After")
        if status == 429 or (status == 503 and retry_after):
            if self._gate is not None:
                self._gate.throttled(home, _seconds(retry_after))
            raise ProviderThrottled(
                f"the calendar server at {where} answered HTTP {status}; try again later",
                retry_after=_seconds(retry_after),
            )
        if status in (301, 302, 307, 308, 404, 410):
            raise HomeMoved(f"the calendar home at {where} answered HTTP {status} to PROPFIND")
        check_status(status, home, "PROPFIND")
        try:
            tree = etree.fromstring(answer.content or b"", parser=_PARSER)
        except etree.LxmlError as exc:
            raise ProviderProtocolError(
                f"the calendar server at {where} gave an answer that is not valid CalDAV ({type(exc).__name__})"
            ) from exc
        if tree is None:
            raise ProviderProtocolError(f"the calendar server at {where} answered PROPFIND without a body")
        return calendar_tokens_of(tree, home)

    def close(self) -> None:
        with self._lock:
            if self._session is not None:
                self._session.close()
                self._session = None


class HomeMoved(ProviderProtocolError):
    """The calendar home is not where it was (404, gone, redirected): look it up again."""


def calendar_tokens_of(tree: Any, home: str) -> dict[str, str]:
    """The calendars of a depth-1 PROPFIND multistatus and their ctags, read
    straight from the tree (the library's result objects cost more than the rest
    of a quiet poll)."""
    own = canonical_path(home)
    tokens: dict[str, str] = {}
    for entry in tree.iter(_RESPONSE):
        href = entry.findtext(_HREF)
        if not href or canonical_path(href.strip()) == own:
            continue
        kinds: set[str] = set()
        ctag = sync_token = ""
        for propstat in entry.iter(_PROPSTAT):
            if "200" not in (propstat.findtext(_STATUS) or "200"):
                continue
            for prop in propstat.iter(_PROP):
                kind = prop.find(_RESOURCETYPE)
                if kind is not None:
                    kinds.update(child.tag for child in kind)
                ctag = ctag or (prop.findtext(_GETCTAG) or "").strip()
                sync_token = sync_token or (prop.findtext(_SYNC_TOKEN) or "").strip()
        if _CALENDAR_KIND in kinds and not kinds & NOT_EVENT_CALENDARS:
            tokens[canonical_path(href.strip())] = ctag or sync_token
    return tokens


def _seconds(value: str | None) -> float | None:
    """Retry-After in seconds (RFC 9110 10.2.3: delay-seconds or an HTTP date)."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)
_CTAG_NS = "http://calendarserver.org/ns/"
TOKENS_BODY = (
    '<?xml version="1.0" encoding="utf-8"?>\n'
    f'<d:propfind xmlns:d="DAV:" xmlns:cs="{_CTAG_NS}">'
    "<d:prop><d:resourcetype/><cs:getctag/><d:sync-token/></d:prop></d:propfind>"
)
_RESPONSE, _HREF, _PROPSTAT, _STATUS, _PROP = (f"{{DAV:}}{n}" for n in ("response", "href", "propstat", "status", "prop"))
_RESOURCETYPE, _SYNC_TOKEN = "{DAV:}resourcetype", "{DAV:}sync-token"
_GETCTAG = f"{{{_CTAG_NS}}}getctag"
_CALENDAR_KIND = "{urn:ietf:params:xml:ns:caldav}calendar"
SUBSCRIBED = f"{{{_CTAG_NS}}}subscribed"
# Scheduling inbox/outbox (RFC 6638), subscriptions and notifications hold no events to sync
# (a subscription's events are its feed's: see adapters.feeds).
NOT_EVENT_CALENDARS = frozenset({
    "{urn:ietf:params:xml:ns:caldav}schedule-inbox",
    "{urn:ietf:params:xml:ns:caldav}schedule-outbox",
    SUBSCRIBED,
    f"{{{_CTAG_NS}}}notification",
})


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
