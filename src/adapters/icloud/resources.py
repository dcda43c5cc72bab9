"""One fetched CalDAV resource as the domain takes it."""

from __future__ import annotations

from datetime import datetime

from adapters.icloud.ical import UnparsableResource, parse_resource
from calendar_domain.occurrences import encode, materialised_range
from calendar_domain.schedule import ImportedSeries, SkippedResource


def imported_series(
    href: str, etag: str, body: str, time_zone: str, fetched_at: datetime
) -> ImportedSeries | SkippedResource:
    """One fetched resource as the domain takes it: parsed, with its occurrences
    around the fetch time; or skipped, with the reason."""
    span = materialised_range(fetched_at)
    try:
        parsed = parse_resource(body, default_tz=time_zone, span=span)
    except UnparsableResource as bad:
        return SkippedResource(href, etag, bad.reason)
    return ImportedSeries(
        href=href,
        etag=etag,
        uid=parsed.uid,
        summary=parsed.summary,
        location=parsed.location,
        recurring=parsed.recurring,
        all_day=parsed.all_day,
        first_start=parsed.first_start,
        last_end=parsed.last_end,
        ical=parsed.ical,
        time_zone=time_zone,
        zone_dependent=parsed.zone_dependent,
        expanded_from=None if parsed.complete else span[0],
        expanded_until=None if parsed.complete else span[1],
        occurrences=encode(parsed.occurrences, parsed.summary, parsed.location),
    )
