"""The shape of a CalDAV resource, read from its text, before icalendar sees it.

``parse_resource`` reads most resources without handing all of their text to
icalendar: a resource of the usual shape (one VCALENDAR, VEVENTs and VTIMEZONEs
directly in it, plain property names) is split into its components by text, so
that icalendar parses only what decides how an event is read (see ``parse_text``)
and each distinct VTIMEZONE text once per process (``vtimezone_entry``). Anything
else - ``scan_resource`` returns None - takes the general path.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import tzinfo

from icalendar import Calendar, Timezone
from icalendar.parser.content_line import NEWLINE, UFOLD
from icalendar.parser_tools import to_unicode

from adapters.icloud.ical_expand import vtimezone_to_zone

_PROPERTY_NAME = re.compile(r"([A-Za-z0-9-]+)[;:]")
_COMPONENT_NAME = re.compile(r"[A-Za-z0-9-]+\Z")


@dataclass
class ComponentLines:
    """A component directly in the VCALENDAR: its unfolded content lines."""

    name: str  # upper case: VEVENT, VTIMEZONE, VTODO, ...
    lines: list[str] = field(default_factory=list)  # all of them, BEGIN/END included
    # VEVENT only: its own properties as (upper-case name, line), and the lines of
    # the components inside it (VALARMs), BEGIN/END included.
    properties: list[tuple[str, str]] = field(default_factory=list)
    nested: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ResourceLayout:
    """One resource split into the VCALENDAR's properties and its components."""

    properties: list[tuple[str, str]]  # (upper-case name, line)
    components: list[ComponentLines]

    def parse_text(self, event_properties: frozenset[str]) -> str:
        """The text icalendar has to parse: everything but VTIMEZONEs (each checked
        on its own, see ``vtimezone_entry``) and the VEVENT properties not named.

        A VEVENT never rejects a property (icalendar keeps it as broken), so leaving
        one out changes nothing else; other components (VALARM, VTODO, ...) can make
        the whole resource unreadable and stay in.
        """
        lines = ["BEGIN:VCALENDAR"]
        lines.extend(line for _, line in self.properties)
        for component in self.components:
            if component.name == "VTIMEZONE":
                continue
            if component.name != "VEVENT":
                lines.extend(component.lines)
                continue
            lines.append(component.lines[0])
            lines.extend(line for name, line in component.properties if name in event_properties)
            lines.extend(component.nested)
            lines.append(component.lines[-1])
        lines.append("END:VCALENDAR")
        lines.append("")
        return "\r\n".join(lines)


def scan_resource(data: str | bytes) -> ResourceLayout | None:
    """Split a resource of the usual shape by its text; None for any other shape."""
    text = to_unicode(data)  # as icalendar decodes it
    if not isinstance(text, str):
        return None
    # Unfolded and split exactly as icalendar does; it skips empty lines, too.
    lines = [line for line in NEWLINE.split(UFOLD.sub("", text)) if line]
    if len(lines) < 2 or lines[0].upper() != "BEGIN:VCALENDAR" or lines[-1].upper() != "END:VCALENDAR":
        return None
    properties: list[tuple[str, str]] = []
    components: list[ComponentLines] = []
    stack: list[str] = []  # open components below the VCALENDAR
    current = ComponentLines("")
    for line in lines[1:-1]:
        match = _PROPERTY_NAME.match(line)
        if match is None or "\r" in line:
            return None
        name = match.group(1).upper()
        if name in ("BEGIN", "END"):
            value = line[len(name) + 1 :]
            if line[len(name)] != ":" or not _COMPONENT_NAME.match(value):
                return None
            kind = value.upper()
            if name == "BEGIN":
                if kind == "VCALENDAR" or (stack and kind in ("VEVENT", "VTIMEZONE")):
                    return None  # walk() would find those, too
                if not stack:
                    current = ComponentLines(kind)
                    components.append(current)
                stack.append(kind)
            elif not stack or stack.pop() != kind:
                return None
            current.lines.append(line)
            if current.name == "VEVENT" and (len(stack) > 1 or (stack and name == "END")):
                current.nested.append(line)  # BEGIN/END of a component inside it
        elif not stack:
            properties.append((name, line))
        else:
            current.lines.append(line)
            if current.name == "VEVENT":
                if len(stack) == 1:
                    current.properties.append((name, line))
                else:
                    current.nested.append(line)
    if stack:
        return None
    return ResourceLayout(properties, components)


@dataclass
class VTimezoneEntry:
    """One VTIMEZONE text, parsed once; its zone built when first needed."""

    component: Timezone
    tzid: str | None
    _zone: tzinfo | None = None

    def zone(self) -> tzinfo:
        if self._zone is None:
            assert self.tzid is not None
            self._zone = vtimezone_to_zone(self.component, self.tzid)
        return self._zone


_VTIMEZONE_CACHE_TEXT_LIMIT = 16_384  # longer VTIMEZONEs (hardly real) are not kept


def vtimezone_entry(text: str) -> VTimezoneEntry | None:
    """The VTIMEZONE with exactly this text (its unfolded lines); None: unreadable.

    Cached by the whole text, so one resource's definition of a TZID never stands in
    for another's (unlike icalendar's cache, keyed by TZID alone), and bounded in
    entries and size: a few hundred distinct VTIMEZONEs cover any real account.
    """
    if len(text) > _VTIMEZONE_CACHE_TEXT_LIMIT:
        return _read_vtimezone(text)
    return _cached_vtimezone(text)


def _read_vtimezone(text: str) -> VTimezoneEntry | None:
    try:
        parsed = Calendar.from_ical(f"BEGIN:VCALENDAR\r\n{text}\r\nEND:VCALENDAR\r\n")
    except Exception:  # noqa: BLE001 - icalendar raises ValueError and kin
        return None
    component = parsed.subcomponents[0]
    if not isinstance(component, Timezone):
        return None
    tzid = str(component.get("TZID")) if "TZID" in component else None
    return VTimezoneEntry(component, tzid)


_cached_vtimezone = functools.lru_cache(maxsize=256)(_read_vtimezone)
