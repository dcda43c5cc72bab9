"""The calendar-integration domain: aggregates, their events, rules and services.

Imports no transport, CalDAV, iCalendar or database driver code; those live in
``adapters`` and ``server``.
"""
