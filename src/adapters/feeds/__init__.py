"""Fetching subscribed iCalendar feeds over HTTP(S): public addresses only, bounded in time and size."""
