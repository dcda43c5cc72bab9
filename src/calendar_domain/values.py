"""Value rules for identifiers and credentials, checked before anything else runs."""

from __future__ import annotations

import functools
import re
import uuid
import zoneinfo
from datetime import UTC, datetime

from calendar_domain.errors import InvalidValue

# Sub-account and user ids come from the CRM: opaque, but printable and bounded so
# that they are safe in keys, logs and URLs.
_OPAQUE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$")
# A deliberately plain e-mail shape: Apple IDs are e-mail addresses; the provider
# has the last word, this only rejects what can never be one.
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s.]{1,63}$")
# Apple shows app-specific passwords as four groups of four lowercase letters.
_APP_PASSWORD = re.compile(r"^[a-z]{4}-[a-z]{4}-[a-z]{4}-[a-z]{4}$")
_REQUEST_ID_MAX = 128
# The longest IANA zone name is 32 characters (America/Argentina/ComodRivadavia).
MAX_TIME_ZONE = 64

# The times a calendar question or booking may be about: wider than any real
# calendar's, and narrow enough that local days, buffers and zone offsets worked
# out around them stay inside what datetime can hold (years 1 to 9999).
EARLIEST_TIME = datetime(1900, 1, 1, tzinfo=UTC)
LATEST_TIME = datetime(2200, 1, 1, tzinfo=UTC)

# Namespaces for ids derived from names (uuid5), fixed forever: changing one
# would re-key existing history.
ACCOUNT_NAMESPACE = uuid.UUID("6f3f1c64-93b5-4d6e-9a0e-0b7c3a1e5d21")
CALENDAR_NAMESPACE = uuid.UUID("0e8f7c4b-2f55-4a39-b3b6-5d8e1c2a7f90")
ACCOUNT_LINK_NAMESPACE = uuid.UUID("c1a4b2d3-7e6f-4a58-9b0c-1d2e3f4a5b6c")
FEED_NAMESPACE = uuid.UUID("9a7d3e2c-41b8-4f06-8c5d-7e1f2a3b4c5d")
MAX_DISPLAY_NAME = 200


def opaque_id(field: str, value: str) -> str:
    if not value:
        raise InvalidValue(field, f"{field} is required")
    if not _OPAQUE_ID.match(value):
        raise InvalidValue(
            field,
            f"{field} must be 1-128 characters: letters, digits and . _ : @ -, "
            "starting with a letter or digit",
        )
    return value


def apple_id(field: str, value: str) -> str:
    value = value.strip()
    if not value:
        raise InvalidValue(field, f"{field} is required")
    if not _EMAIL.match(value):
        raise InvalidValue(field, f"{field} must be an e-mail address (the Apple ID)")
    return value


def normalized_apple_id(value: str) -> str:
    """Apple IDs are case-insensitive e-mail addresses."""
    return value.strip().lower()


def app_password(field: str, value: str) -> str:
    """Checks the shape of an app-specific password without ever echoing it."""
    value = value.strip()
    if not value:
        raise InvalidValue(field, f"{field} is required")
    if not _APP_PASSWORD.match(value):
        raise InvalidValue(
            field,
            f"{field} must be an app-specific password in the form xxxx-xxxx-xxxx-xxxx "
            "(16 lowercase letters); create one at appleid.apple.com with two-factor "
            "authentication on. The Apple ID password does not work over CalDAV",
        )
    return value


def request_id(field: str, value: str) -> str:
    if len(value) > _REQUEST_ID_MAX:
        raise InvalidValue(field, f"{field} must be at most {_REQUEST_ID_MAX} characters")
    if value and not value.isprintable():
        raise InvalidValue(field, f"{field} must be printable")
    return value


def uuid_id(field: str, value: str) -> uuid.UUID:
    if not value:
        raise InvalidValue(field, f"{field} is required")
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidValue(field, f"{field} must be a UUID") from None


def time_zone(field: str, value: str) -> str:
    """An IANA time zone name known to this machine's zone database.

    Looked up in the list of known names, never handed to the file system as
    given: a name of hundreds of bytes, or one with ``..``, fails there with
    errors of its own."""
    if not value:
        raise InvalidValue(field, f"{field} is required")
    if len(value) > MAX_TIME_ZONE or value not in _known_zones():
        shown = value if len(value) <= MAX_TIME_ZONE else f"{value[:MAX_TIME_ZONE]}..."
        raise InvalidValue(field, f"{field} {shown!r} is not an IANA time zone name")
    return value


@functools.cache
def _known_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) | {"UTC"}


def calendar_time(field: str, moment: datetime) -> datetime:
    if not EARLIEST_TIME <= moment < LATEST_TIME:
        raise InvalidValue(
            field, f"{field} must lie between {EARLIEST_TIME:%Y-%m-%d} and {LATEST_TIME:%Y-%m-%d} (UTC)"
        )
    return moment


def account_id_for(apple: str) -> uuid.UUID:
    """The account underneath every connection of one Apple ID, in any sub-account."""
    return uuid.uuid5(ACCOUNT_NAMESPACE, normalized_apple_id(apple))


def feed_account_id_for(url: str) -> uuid.UUID:
    """The account underneath every subscription of one feed URL (normalised), in
    any sub-account: the feed is fetched once for all of them."""
    return uuid.uuid5(FEED_NAMESPACE, url)


def display_name(field: str, value: str) -> str:
    """An optional name a user gives: printable, at most 200 characters."""
    value = value.strip()
    if len(value) > MAX_DISPLAY_NAME:
        raise InvalidValue(field, f"{field} must be at most {MAX_DISPLAY_NAME} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise InvalidValue(field, f"{field} must not contain control characters")
    return value


def calendar_id_for(account_id: uuid.UUID, href: str) -> uuid.UUID:
    """A calendar's id: the same in every sub-account that connects the account."""
    return uuid.uuid5(CALENDAR_NAMESPACE, f"{account_id}{href}")
