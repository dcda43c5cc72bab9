from __future__ import annotations

import logging

import pytest

from calendar_domain.telemetry import happened


def test_a_happening_is_one_line_of_key_value_fields_carried_on_the_record_too(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("tests.telemetry")
    with caplog.at_level(logging.INFO, logger="tests.telemetry"):
        happened(log, "sync.finished", account="acc-1", changes=3, outcome="ok", skipped=None, note='two "words"')
    (record,) = caplog.records
    assert record.getMessage() == 'sync.finished account=acc-1 changes=3 outcome=ok note="two \\"words\\""'
    assert record.event == "sync.finished"  # type: ignore[attr-defined]
    assert record.fields == {"account": "acc-1", "changes": 3, "outcome": "ok", "note": 'two "words"'}  # type: ignore[attr-defined]


def test_a_happening_below_the_level_costs_nothing_and_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("tests.telemetry.quiet")
    with caplog.at_level(logging.WARNING, logger="tests.telemetry.quiet"):
        happened(log, "poll.idle", accounts=0)
    assert caplog.records == []
