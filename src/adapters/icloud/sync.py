"""Fetching what changed in one calendar (RFC 6578 sync-collection, RFC 4791 multiget).

- With a sync token: one sync-collection REPORT lists the changed and removed
  members (``disable_fallback=True``: an expired token must not silently turn
  into a full fetch with a fake token, which the caldav library does otherwise).
- Without one, or when the server refuses it (Radicale 403, Xandikos 412,
  iCloud 403/409, all with DAV:valid-sync-token): a full listing of hrefs and
  etags (sync-collection without a token), diffed against what is known, so
  deletions are still found. A server without sync-collection gets a depth-1
  PROPFIND of etags instead.
- A first sync (nothing known yet: every member is wanted) asks for the members'
  calendar-data in that listing, so that the members cross the wire once: on
  Radicale, listing and then fetching everything cost the server nearly twice
  what the listing with data does. The server bounds its reply by truncating it
  (RFC 6578 3.6: pages are followed); a member listed without data (a server that
  ignores the property, or iCloud's 404 propstat for it) is fetched as below.
- Changed members are fetched with calendar-multiget in batches, never one GET each.
- iCloud lists the calendar's own URL among the changed members: skipped.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

from caldav.elements import cdav, dav
from caldav.lib import error
from caldav.lib.url import URL

from adapters.icloud.dav import CalDAVAccount, canonical_path, translated_errors

log = logging.getLogger(__name__)
DEFAULT_BATCH = 250
MAX_SYNC_PAGES = 100  # truncated sync-collection replies followed, at most


class SyncTokenRefused(Exception):
    """The server no longer accepts the sync token: list everything instead."""


@dataclass(frozen=True)
class Listing:
    """Members of a calendar with their etags: those changed since a token, or all."""

    etags: dict[str, str]  # href -> etag
    deleted: frozenset[str]
    sync_token: str
    complete: bool  # True: every member is listed (anything known but absent is deleted)
    # href -> calendar data of the members whose data came with the listing
    data: dict[str, str] = field(default_factory=dict)


class CalendarFetcher:
    def __init__(self, account: CalDAVAccount, *, batch_size: int = DEFAULT_BATCH) -> None:
        self._account = account
        self._batch_size = batch_size

    def changes_since(self, calendar_href: str, sync_token: str) -> Listing:
        """Members changed or removed since the token (raises SyncTokenRefused)."""
        return self._sync_collection(calendar_href, sync_token)

    def full_listing(self, calendar_href: str, with_data: bool = False) -> Listing:
        """Every member with its etag; ``with_data``: and its calendar data, where
        the server sends it along (see the module's notes)."""
        try:
            return self._sync_collection(calendar_href, None, with_data)
        except SyncTokenRefused:
            # No sync-collection on this server: compare etags instead.
            return self._propfind_listing(calendar_href)

    def fetch(self, calendar_href: str, hrefs: list[str]) -> Generator[tuple[str, str, str], None, None]:
        """(href, etag, calendar data) of the members, by calendar-multiget in batches.
        Members deleted meanwhile are simply absent.

        One thread fetches the next batch while the caller works on the current one
        (the server and the parser then run side by side); only that thread uses
        the HTTP session while the fetch runs.
        """
        if not hrefs:
            return
        calendar = self._calendar(calendar_href)
        batches = [hrefs[i : i + self._batch_size] for i in range(0, len(hrefs), self._batch_size)]
        ready: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=2)
        stopped = threading.Event()

        def produce() -> None:
            try:
                for batch in batches:
                    urls = [URL.objectify(self._account.url_of(h)) for h in batch]
                    with translated_errors(str(calendar.url)):
                        rows = calendar._multiget(urls)  # noqa: SLF001 - raw (href, data, tags), no objects
                    _put(ready, ("rows", rows), stopped)
                _put(ready, ("end", None), stopped)
            except BaseException as failure:  # handed to the consumer, raised there
                _put(ready, ("error", failure), stopped)

        producer = threading.Thread(target=produce, name="caldav-multiget", daemon=True)
        producer.start()
        try:
            while True:
                kind, payload = ready.get()
                if kind == "end":
                    return
                if kind == "error":
                    raise payload
                for href, data, tags in payload:
                    if data:
                        yield canonical_path(href), _etag(tags.get(dav.GetEtag.tag)), data
        finally:
            stopped.set()
            producer.join(timeout=self._account.timeout + 5)

    # -- listing ---------------------------------------------------------------------

    def _calendar(self, calendar_href: str) -> Any:
        return self._account.client.calendar(url=self._account.url_of(calendar_href))

    def _sync_collection(self, calendar_href: str, sync_token: str | None, with_data: bool = False) -> Listing:
        """One sync-collection REPORT (and more while the server truncates its reply,
        RFC 6578 3.6), read straight from the multistatus: a first listing has one
        entry per member, and building the library's resource objects for each (URL
        joins and canonical forms) used to cost more than the server's answer."""
        calendar = self._calendar(calendar_href)
        own = canonical_path(calendar_href)
        etags: dict[str, str] = {}
        deleted: set[str] = set()
        data: dict[str, str] | None = {} if with_data else None
        wanted = [dav.GetEtag(), cdav.CalendarData()] if with_data else [dav.GetEtag()]
        token = sync_token
        with translated_errors(str(calendar.url)):
            for _ in range(MAX_SYNC_PAGES):
                body = dav.SyncCollection() + [
                    dav.SyncToken(value=token or ""), dav.SyncLevel(value="1"), dav.Prop() + wanted
                ]
                try:
                    # RFC 6578 3.2: sync-collection is sent with Depth: 0 (a strict
                    # server refuses Depth: 1 with 400, which would turn every sync
                    # into a full listing).
                    response = calendar._query(body, 0, "report")  # noqa: SLF001 - the raw multistatus
                except error.DAVError as failure:
                    if _sync_refused(failure):
                        raise SyncTokenRefused(str(failure)) from None
                    raise
                _absorb_page(response, own, etags, deleted, data)
                new_token = str(response.sync_token or "")
                truncated = calendar._sync_page_truncated(response)  # noqa: SLF001 - the library's 507 rule
                if not (truncated and new_token and new_token != token):
                    if truncated:
                        log.warning("%s truncated its sync-collection reply without a new token", calendar.url)
                    token = new_token or token
                    break
                token = new_token
        return Listing(etags, frozenset(deleted), str(token or ""), complete=sync_token is None, data=data or {})

    def _propfind_listing(self, calendar_href: str) -> Listing:
        url = self._account.url_of(calendar_href)
        own = canonical_path(calendar_href)
        results = self._account.propfind(url, [dav.GetEtag()], depth=1)
        etags = {
            canonical_path(r.href): _etag(r.properties.get(dav.GetEtag.tag))
            for r in results
            if canonical_path(r.href) != own
        }
        return Listing(etags, frozenset(), "", complete=True)


def _absorb_page(
    response: Any, own: str, etags: dict[str, str], deleted: set[str], data: dict[str, str] | None = None
) -> None:
    """One page of a sync-collection reply: members with an etag are changed, those
    answered 404 without one are removed (RFC 6578 3.2; a member on a later page
    wins). iCloud lists the calendar itself among the changes: skipped. ``data``
    (when the listing asked for it): the calendar data sent along, by href."""
    wanted = [dav.GetEtag()] if data is None else [dav.GetEtag(), cdav.CalendarData()]
    page = response.expand_simple_props(wanted)  # every response's href, and its status
    removed = {canonical_path(href) for href, status in response.statuses.items() if _is_404(status)}
    for href, props in page.items():
        path = canonical_path(href)
        if path == own:
            continue
        etag = props.get(dav.GetEtag.tag)
        body = props.get(cdav.CalendarData.tag) if data is not None else None
        if path in removed and not etag:
            deleted.add(path)
            etags.pop(path, None)
        else:
            etags[path] = _etag(etag)
            deleted.discard(path)
        if data is not None:
            if body and path in etags:
                data[path] = body
            else:  # none sent (or removed since): fetched by multiget if wanted
                data.pop(path, None)


def _is_404(status: object) -> bool:
    """"HTTP/1.1 404 Not Found" (or a bare code)."""
    parts = str(status or "").split()
    return "404" in parts[:2]


def _put(ready: queue.Queue[tuple[str, Any]], item: tuple[str, Any], stopped: threading.Event) -> None:
    while not stopped.is_set():
        try:
            ready.put(item, timeout=0.2)
            return
        except queue.Full:
            continue


def _etag(value: object) -> str:
    return str(value or "").strip()


def _sync_refused(failure: error.DAVError) -> bool:
    """The server will not answer this sync-collection: the token expired
    (DAV:valid-sync-token, RFC 6578 3.2: Radicale 403, Xandikos and iCloud 412,
    some 409), or it has no sync-collection at all (DAV:supported-report, 400,
    405, 501). Then a full etag listing takes its place."""
    preconditions = [str(p) for p in getattr(failure, "preconditions", None) or ()]
    if any("valid-sync-token" in p or "supported-report" in p for p in preconditions):
        return True
    status = int(getattr(failure, "status", None) or 0)
    return status in (400, 405, 409, 412, 501) or (isinstance(failure, error.ReportError) and not status)
