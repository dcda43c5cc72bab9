"""The first fetch of a feed, before a subscription to it is saved: the address
may be fetched, the feed answers, and what it answers is iCalendar."""

from __future__ import annotations

import logging

from adapters.feeds.fetch import FeedFetcher, FeedRefused, feed_host, feed_url
from adapters.feeds.members import NotAFeed, feed_members
from calendar_domain.errors import InvalidValue
from calendar_domain.ports import ProvedFeed
from calendar_domain.telemetry import happened

log = logging.getLogger(__name__)


class FeedProber:
    """Implements ``FeedProbe`` with the process's feed fetcher."""

    def __init__(self, fetcher: FeedFetcher) -> None:
        self._fetcher = fetcher

    def normalise(self, field: str, url: str) -> str:
        return feed_url(field, url)

    def prove(self, field: str, url: str) -> ProvedFeed:
        host = feed_host(url)
        try:
            # A feed that refuses, is gone, may not be fetched or is not iCalendar is
            # the given URL's fault; one that cannot be reached now is UNAVAILABLE.
            answer = self._fetcher.fetch(url, None, insist=True)
            feed = feed_members(answer.body, "/", host)
        except (FeedRefused, NotAFeed) as refused:
            happened(log, "subscription.refused", host=host, reason=type(refused).__name__)
            raise InvalidValue(field, refused.message) from None
        happened(log, "subscription.proved", host=host, events=len(feed.members), bytes=len(answer.body))
        return ProvedFeed(url=url, host=host, name=feed.name or host, events=len(feed.members))
