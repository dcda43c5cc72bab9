"""What a rebuild's reader makes of one stored event: the projection's ``prepare``,
with a shorter way for the import events, which are nearly all of a log.

The library turns a stored event into a domain event by decrypting, decompressing
and decoding its state (JSON, with an object hook that restores the types it
encoded), upcasting it and making the object; ``prepare`` then reads a few of its
attributes. For an import event stored at its class's current version, this
decrypts and decompresses with the application's own cipher and compressor and
decodes the JSON with orjson, which is several times faster, and takes the
attributes from the decoded state. The only value in that state the JSON
transcoder stores as a type of its own is ``fetched_at`` (a datetime in ISO form),
used here as the text it is. Anything else (another event, another version or
transcoder, an unexpected shape, a state that will not decode) goes the library's
way, which upcasts, and raises its own errors with the event named.
"""

from __future__ import annotations

from typing import Any

import orjson
from eventsourcing.persistence import JSONTranscoder, Mapper, Notification
from eventsourcing.utils import get_topic

from calendar_domain.availability_projection import IMPORT_EVENTS, prepare, prepared_import

# topic -> (the version its state must be stored at, whether it replaces an earlier import)
_IMPORTS = {get_topic(cls): (getattr(cls, "class_version", 1), replacing) for cls, replacing in IMPORT_EVENTS.items()}
_ISO_DATETIME = "datetime_iso"  # the JSON transcoder's name for a datetime


def prepare_stored(mapper: Mapper[Any], notification: Notification) -> Any:
    """``prepare(mapper.to_domain_event(notification))``, sooner."""
    found = _IMPORTS.get(notification.topic)
    if found is not None and type(mapper.transcoder) is JSONTranscoder:
        prepared = _prepared_import(mapper, notification, *found)
        if prepared is not None:
            return prepared
    return prepare(mapper.to_domain_event(notification))


def _prepared_import(mapper: Mapper[Any], notification: Notification, version: int, replacing: bool) -> Any:
    try:
        state = notification.state
        if mapper.cipher:
            state = mapper.cipher.decrypt(state)
        if mapper.compressor:
            state = mapper.compressor.decompress(state)
        fields = orjson.loads(state)
        fetched_at, series = fields["fetched_at"], fields["series"]
        if (
            fields.get("class_version", 1) != version
            or type(fetched_at) is not dict
            or fetched_at.get("_type_") != _ISO_DATETIME
            or type(series) is not dict
            or "_type_" in series
        ):
            return None
        return prepared_import(
            str(notification.originator_id), fields["connection_id"], fields["calendar_id"], series,
            fetched_at["_data_"], replacing,
        )
    except Exception:  # noqa: BLE001 - the library's way says what is wrong with it
        return None
