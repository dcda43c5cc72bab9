"""Subscribed calendars (iCalendar feeds) as conflict sources, over gRPC on both
stores, with the feed served by a real HTTP server on loopback: subscribing
proves the feed, its events block, polls fetch it conditionally (ETag), a
change is followed, a feed that breaks keeps its busy times and says so, it is
never written to nor primary, its URL never shows, and iCloud's own subscribed
calendars are offered and subscribed to by their feed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest

from calendarintegration.v1 import availability_pb2 as av
from calendarintegration.v1 import configuration_pb2 as cfg
from calendarintegration.v1 import connection_pb2 as pb
from calendarintegration.v1 import history_pb2 as hi
from calendarintegration.v1 import sync_pb2 as sy
from tests.support.caldav_servers import RadicaleServer
from tests.support.feed_server import FeedServer
from tests.support.grpc_service import TENANT_TOKEN, Service, auth, failure, running_service
from tests.support.recorded_icloud import SUBSCRIBED, RecordedICloud
from tests.support.stores import STORES, settings_for

SUB, USER = "loc-1", "u1"


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%SZ")


def _feed(events: list[tuple[str, datetime, str]], name: str = "Team schedule") -> bytes:
    """A feed of one-hour events (uid, start, summary), as a feed server writes it."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Feeds Inc//Feed//EN", f"X-WR-CALNAME:{name}"]
    for uid, start, summary in events:
        lines += [
            "BEGIN:VEVENT", f"UID:{uid}", f"DTSTAMP:{_stamp(start)}", f"DTSTART:{_stamp(start)}",
            f"DTEND:{_stamp(start + timedelta(hours=1))}", f"SUMMARY:{summary}", "END:VEVENT",
        ]
    return ("\r\n".join([*lines, "END:VCALENDAR"]) + "\r\n").encode()


def _ts(moment: datetime) -> object:
    from google.protobuf.timestamp_pb2 import Timestamp

    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


TOMORROW = (datetime.now(UTC) + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
WINDOW = (TOMORROW - timedelta(hours=1), TOMORROW + timedelta(days=3))


def _busy(service: Service, position: int) -> list[av.BusyTime]:
    [user] = service.availability.ListBusyTimes(
        av.ListBusyTimesRequest(
            sub_account_id=SUB, user_ids=[USER], viewer_user_id=USER, min_position=position,
            window=av.TimeWindow(start_time=_ts(WINDOW[0]), end_time=_ts(WINDOW[1])),
        ),
        metadata=auth(),
    ).users
    return list(user.busy_times)


def _as_of(service: Service, position: int) -> av.AsOf:
    [user] = service.availability.ListBusyTimes(
        av.ListBusyTimesRequest(
            sub_account_id=SUB, user_ids=[USER], min_position=position,
            window=av.TimeWindow(start_time=_ts(WINDOW[0]), end_time=_ts(WINDOW[1])),
        ),
        metadata=auth(),
    ).users
    return user.as_of


def _head(service: Service) -> int:
    return service.container.app.head_position()


@pytest.fixture(params=STORES)
def service(request: pytest.FixtureRequest, tmp_path: Path, radicale: RadicaleServer) -> Iterator[Service]:
    """Feeds on loopback allowed; no background poller (the test polls as it would)."""
    with settings_for(
        request.param, tmp_path / "data", caldav_url=radicale.base_url, caldav_timeout=10,
        feed_allow_private=True, sync_enabled=False,
    ) as settings:
        with running_service(settings) as running:
            yield running


def test_a_feed_blocks_its_subscriber_is_polled_conditionally_follows_changes_and_breaks_without_losing_busy_times(
    service: Service,
) -> None:
    with FeedServer() as feeds:
        feeds.set("/team.ics", _feed([("standup", TOMORROW, "Stand-up"), ("offsite", TOMORROW + timedelta(days=1), "Offsite")]))
        url = feeds.url("/team.ics")
        request = pb.SubscribeCalendarRequest(sub_account_id=SUB, user_id=USER, url=url, request_id="sub-1")
        made = service.connections.SubscribeCalendar(request, metadata=auth())
        host = url.split("/")[2]
        connection, calendar = made.connection, made.calendar
        assert (connection.kind, connection.source, connection.apple_id) == (pb.CONNECTION_KIND_FEED, host, "")
        assert (calendar.kind, calendar.writable, calendar.display_name, calendar.source) == (
            pb.CALENDAR_KIND_FEED, False, "Team schedule", host,
        )
        # a retry answers the same subscription; another request for the same feed is ALREADY_EXISTS
        again = service.connections.SubscribeCalendar(request, metadata=auth())
        assert again.connection.connection_id == connection.connection_id
        twice = failure(service.connections.SubscribeCalendar, pb.SubscribeCalendarRequest(
            sub_account_id=SUB, user_id=USER, url=url.upper().replace("/TEAM.ICS", "/team.ics"),
        ))
        assert (twice.code, twice.reason) == (grpc.StatusCode.ALREADY_EXISTS, "ALREADY_EXISTS")
        assert "feed is already subscribed to" in twice.message and twice.metadata["connection_id"] == connection.connection_id

        configuration = service.configurations.GetCalendarConfiguration(
            cfg.GetCalendarConfigurationRequest(sub_account_id=SUB, user_id=USER),
            metadata=auth(),
        ).configuration
        assert [(r.connection_id, r.calendar_id) for r in configuration.conflict_calendars] == [
            (connection.connection_id, calendar.calendar_id)
        ]
        listed = service.connections.GetConnection(pb.GetConnectionRequest(
            sub_account_id=SUB, connection_id=connection.connection_id, min_position=made.position,
        ), metadata=auth()).connection
        assert (listed.kind, listed.source) == (pb.CONNECTION_KIND_FEED, host)

        synced = service.sync.SyncNow(
            sy.SyncNowRequest(sub_account_id=SUB, connection_id=connection.connection_id), metadata=auth()
        )
        assert (synced.calendars_synced, synced.calendars_failed) == (1, 0)
        busy = _busy(service, synced.position)
        assert [(b.source.uid, b.source.title, b.blocks) for b in busy] == [("standup", "Stand-up", True), ("offsite", "Offsite", True)]
        assert {(b.source.connection_id, b.source.calendar_id) for b in busy} == {(connection.connection_id, calendar.calendar_id)}

        # the poller's poll: a conditional GET, answered 304, records nothing
        scheduler = service.container.scheduler
        head = _head(service)
        quiet = scheduler.poll(connection.account_id)
        assert quiet is not None and quiet.quiet and not quiet.errors
        sent = feeds.requests_to("/team.ics")[-1].headers
        assert sent.get("if-none-match") and sent.get("if-modified-since")
        assert _head(service) == head

        # the feed changes: the stand-up moves, the offsite goes, a review comes
        moved = TOMORROW + timedelta(hours=2)
        feeds.set("/team.ics", _feed([("standup", moved, "Stand-up"), ("review", TOMORROW + timedelta(days=2), "Review")]))
        changed = scheduler.poll(connection.account_id)
        assert changed is not None and not changed.quiet and changed.changes == 3
        busy = _busy(service, changed.position)
        assert [(b.source.uid, b.start_time.ToDatetime(tzinfo=UTC)) for b in busy] == [
            ("standup", moved), ("review", TOMORROW + timedelta(days=2)),
        ]
        last_good = _as_of(service, changed.position).calendars[0].last_synced_time.ToDatetime(tzinfo=UTC)

        # it breaks: gone, then not iCalendar; the busy times stay, and the sync says why
        for breaks, says in ((lambda: feeds.answer("/team.ics", 404), "HTTP 404"), (lambda: feeds.garbage("/team.ics"), "iCalendar")):
            breaks()
            head = _head(service)
            broken = scheduler.poll(connection.account_id)
            assert broken is not None and broken.calendars_failed == 1 and says in broken.errors[0]
            assert _head(service) == head  # nothing recorded, nothing deleted
            assert [b.source.uid for b in _busy(service, head)] == ["standup", "review"]
            status = service.sync.GetSyncStatus(
                sy.GetSyncStatusRequest(sub_account_id=SUB, connection_id=connection.connection_id), metadata=auth()
            ).status
            assert says in status.calendars[0].last_error and status.calendars[0].consecutive_failures >= 1
            as_of = _as_of(service, head)
            # not synced since the last good poll (out of date once past the stale time)
            assert as_of.calendars[0].last_synced_time.ToDatetime(tzinfo=UTC) == last_good

        # it comes back
        feeds.set("/team.ics", _feed([("standup", moved, "Stand-up")]))
        back = scheduler.poll(connection.account_id)
        assert back is not None and not back.errors
        assert [b.source.uid for b in _busy(service, back.position)] == ["standup"]
        # a server error, then the same feed again: its 304 proves it, the failure is cleared
        feeds.answer("/team.ics", 500)
        failed = scheduler.poll(connection.account_id)
        assert failed is not None and failed.calendars_failed == 1
        feeds.set("/team.ics", _feed([("standup", moved, "Stand-up")]))
        proved = scheduler.poll(connection.account_id)
        assert proved is not None and proved.quiet and not proved.errors
        assert feeds.requests_to("/team.ics")[-1].headers.get("if-none-match")
        status = service.sync.GetSyncStatus(
            sy.GetSyncStatusRequest(sub_account_id=SUB, connection_id=connection.connection_id), metadata=auth()
        ).status
        assert (status.calendars[0].consecutive_failures, status.calendars[0].last_error) == (0, "")

        # read only: never the primary calendar, and nothing was ever sent but GET
        primary = failure(service.configurations.SetPrimaryCalendar, cfg.SetPrimaryCalendarRequest(
            sub_account_id=SUB, user_id=USER,
            calendar=cfg.CalendarRef(connection_id=connection.connection_id, calendar_id=calendar.calendar_id),
        ))
        assert (primary.code, primary.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "CALENDAR_NOT_WRITABLE")
        assert {seen.method for seen in feeds.requests} == {"GET"}

        # the history tells it, and never the URL
        events = service.history.ListEvents(
            hi.ListEventsRequest(sub_account_id=SUB, page_size=500), metadata=auth()
        ).events
        connected = next(e for e in events if e.event_type == "Connection.Connected")
        assert (connected.connection_connected.kind, connected.connection_connected.source) == ("feed", host)
        assert any(e.event_type == "UserSchedule.BlockedSlotImported" for e in events)
        assert not any("/team.ics" in e.payload_json for e in events)

        # unsubscribing: the busy times go
        gone = service.connections.Disconnect(pb.DisconnectRequest(
            sub_account_id=SUB, connection_id=connection.connection_id,
        ), metadata=auth())
        assert _busy(service, gone.position) == []


def test_bad_subscriptions_are_refused_with_the_field_and_save_nothing(tmp_path: Path, radicale: RadicaleServer) -> None:
    """The production default: loopback and private addresses are not fetched."""
    with FeedServer() as feeds, settings_for(
        "sqlite", tmp_path / "data", caldav_url=radicale.base_url, caldav_timeout=10, sync_enabled=False,
    ) as settings, running_service(settings) as service:
        feeds.set("/h.ics", _feed([("a", TOMORROW, "A")]))

        def refused(token: str | None = None, sub: str = SUB, **fields: str) -> tuple[grpc.StatusCode, str, dict[str, str]]:
            request = pb.SubscribeCalendarRequest(sub_account_id=sub, user_id=USER, **fields)
            got = failure(service.connections.SubscribeCalendar, request, **({"token": token} if token else {}))
            return got.code, got.reason, got.violations

        code, _, bad = refused(url=feeds.url("/h.ics"))
        assert code == grpc.StatusCode.INVALID_ARGUMENT and "url" in bad and "127.0.0.1" in bad["url"]
        assert "/h.ics" not in bad["url"]  # the host is named, never the path
        for url in ("", "ftp://example.com/h.ics", "https://", "not a url", "https://example.com/" + "x" * 3000):
            code, _, bad = refused(url=url)
            assert code == grpc.StatusCode.INVALID_ARGUMENT and "url" in bad, url
        code, _, bad = refused(url="https://example.com/h.ics", icloud_connection_id="x", icloud_calendar_id="y")
        assert code == grpc.StatusCode.INVALID_ARGUMENT and "url" in bad
        code, _, bad = refused(url="https://example.com/h.ics", display_name="x" * 201)
        assert code == grpc.StatusCode.INVALID_ARGUMENT and "display_name" in bad
        # authorization first: a tenant outside the sub-account learns nothing of the URL
        code, _, _ = refused(token=TENANT_TOKEN, sub="another-tenant", url="ftp://nope")
        assert code == grpc.StatusCode.PERMISSION_DENIED
        listed = service.connections.ListConnections(pb.ListConnectionsRequest(sub_account_id=SUB), metadata=auth())
        assert list(listed.connections) == [] and feeds.requests == []


def test_a_feed_that_is_gone_or_not_icalendar_is_refused_at_subscription(service: Service) -> None:
    with FeedServer() as feeds:
        feeds.answer("/gone.ics", 404)
        feeds.set("/page.html", b"<html><body>Not a calendar</body></html>", content_type="text/html")
        for path, says in (("/gone.ics", "404"), ("/page.html", "iCalendar")):
            got = failure(service.connections.SubscribeCalendar, pb.SubscribeCalendarRequest(
                sub_account_id=SUB, user_id=USER, url=feeds.url(path),
            ))
            assert got.code == grpc.StatusCode.INVALID_ARGUMENT and says in got.violations["url"], got
        listed = service.connections.ListConnections(pb.ListConnectionsRequest(sub_account_id=SUB), metadata=auth())
        assert list(listed.connections) == []


@pytest.mark.parametrize("store", STORES)
def test_icloud_subscribed_calendars_are_offered_and_subscribed_to_by_their_feed(store: str, tmp_path: Path) -> None:
    with FeedServer() as feeds:
        feeds.set("/holidays.ics", _feed([("new-year", TOMORROW, "Public holiday")], name="Holidays"))
        with RecordedICloud(subscription_source=feeds.url("/holidays.ics")) as icloud, settings_for(
            store, tmp_path / "data", caldav_url=icloud.url, caldav_timeout=10, feed_allow_private=True,
            sync_enabled=False,
        ) as settings, running_service(settings) as service:
            connected = service.connections.ConnectAccount(pb.ConnectAccountRequest(
                sub_account_id=SUB, user_id=USER, apple_id=icloud.username, app_password=icloud.password,
            ), metadata=auth())
            [offered] = [c for c in connected.calendars if c.kind == pb.CALENDAR_KIND_SUBSCRIPTION]
            assert (offered.display_name, offered.writable, offered.href) == ("Holidays", False, SUBSCRIBED)
            assert offered.source == feeds.url("/").split("/")[2]
            [events] = [c for c in connected.calendars if c.kind == pb.CALENDAR_KIND_EVENTS]
            assert events.writable

            # not a calendar of events: it cannot be added as one, nor be primary
            add = failure(service.configurations.AddConflictCalendar, cfg.AddConflictCalendarRequest(
                sub_account_id=SUB, user_id=USER,
                calendar=cfg.CalendarRef(connection_id=connected.connection.connection_id, calendar_id=offered.calendar_id),
            ))
            assert add.code == grpc.StatusCode.INVALID_ARGUMENT and "SubscribeCalendar" in add.message

            made = service.connections.SubscribeCalendar(pb.SubscribeCalendarRequest(
                sub_account_id=SUB, user_id=USER, icloud_connection_id=connected.connection.connection_id,
                icloud_calendar_id=offered.calendar_id,
            ), metadata=auth())
            assert made.connection.kind == pb.CONNECTION_KIND_FEED and made.calendar.display_name == "Holidays"
            synced = service.sync.SyncNow(
                sy.SyncNowRequest(sub_account_id=SUB, connection_id=made.connection.connection_id), metadata=auth()
            )
            assert synced.calendars_synced == 1
            assert [b.source.uid for b in _busy(service, synced.position)] == ["new-year"]
            # an events calendar is not a subscription
            wrong = failure(service.connections.SubscribeCalendar, pb.SubscribeCalendarRequest(
                sub_account_id=SUB, user_id=USER, icloud_connection_id=connected.connection.connection_id,
                icloud_calendar_id=events.calendar_id,
            ))
            assert wrong.code == grpc.StatusCode.INVALID_ARGUMENT and "icloud_calendar_id" in wrong.violations
