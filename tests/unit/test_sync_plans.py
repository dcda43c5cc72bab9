"""Which members of a sync are taken from the data a listing brought, and which are
fetched: carried data serves a member only at the etag every target wants."""

from __future__ import annotations

from adapters.icloud.sync import Listing
from adapters.icloud.sync_worker import _carried_or_missing, _diff
from calendar_domain.schedule import KnownResource
from calendar_domain.schedule_service import SyncTarget


def target(sub: str, checkpoint: str | None, known: dict[str, KnownResource]) -> SyncTarget:
    return SyncTarget(sub, "u1", "conn", "cal", "/cal/", checkpoint, known, "Europe/Berlin")


def plan(t: SyncTarget, listing: Listing) -> tuple[SyncTarget, Listing, dict[str, str], set[str]]:
    return (t, listing, *_diff(t, listing))


def test_data_from_a_first_listing_serves_every_target_that_wants_that_etag() -> None:
    first = Listing({"/a": "e1", "/b": "e1"}, frozenset(), "t1", complete=True, data={"/a": "A1", "/b": "B1"})
    plans = [plan(target("loc-1", None, {}), first)]
    assert _carried_or_missing(plans, ["/a", "/b"]) == ([("/a", "e1", "A1"), ("/b", "e1", "B1")], [])


def test_a_member_another_target_saw_at_a_newer_etag_is_fetched_again() -> None:
    first = Listing({"/a": "e1", "/b": "e1"}, frozenset(), "t1", complete=True, data={"/a": "A1", "/b": "B1"})
    # listed a moment later with its own token: /a changed in between
    later = Listing({"/a": "e2", "/b": "e1"}, frozenset(), "t9", complete=False)
    plans = [
        plan(target("loc-1", None, {}), first),
        plan(target("loc-2", "t0", {"/a": KnownResource("a", "e0")}), later),
    ]
    assert _carried_or_missing(plans, ["/a", "/b"]) == ([("/b", "e1", "B1")], ["/a"])


def test_members_listed_without_data_are_fetched() -> None:
    listing = Listing({"/a": "e1", "/b": "e1"}, frozenset(), "t1", complete=True, data={"/a": "A1"})
    plans = [plan(target("loc-1", None, {}), listing)]
    assert _carried_or_missing(plans, ["/a", "/b"]) == ([("/a", "e1", "A1")], ["/b"])
