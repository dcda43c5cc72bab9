"""Commands on one aggregate take turns; on different stripes they do not wait."""

from __future__ import annotations

import threading
import uuid

from calendar_domain.command_locks import CommandLocks


def test_a_second_command_on_the_same_aggregate_waits_for_the_first() -> None:
    locks = CommandLocks(stripes=8)
    aggregate = uuid.uuid4()
    inside, order = threading.Event(), []
    release = threading.Event()

    def first() -> None:
        with locks.serialised(aggregate):
            inside.set()
            release.wait(10)
            order.append("first")

    thread = threading.Thread(target=first)
    thread.start()
    inside.wait(10)
    waiting = threading.Thread(target=lambda: (locks.serialised(aggregate).__enter__(), order.append("second")))
    waiting.start()
    waiting.join(0.2)
    assert waiting.is_alive() and order == []  # still waiting for its turn
    release.set()
    thread.join(10)
    waiting.join(10)
    assert order == ["first", "second"]


def test_commands_over_several_aggregates_take_stripes_in_one_order() -> None:
    locks = CommandLocks(stripes=4)
    ids = [uuid.UUID(int=i) for i in range(4)]
    done: list[int] = []

    def run(order: list[uuid.UUID], n: int) -> None:
        for _ in range(200):
            with locks.serialised(*order):
                pass
        done.append(n)

    threads = [threading.Thread(target=run, args=(ids, 0)), threading.Thread(target=run, args=(ids[::-1], 1))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert sorted(done) == [0, 1]  # no deadlock


def test_the_same_thread_may_take_its_turn_again() -> None:
    locks = CommandLocks(stripes=1)
    with locks.serialised(uuid.uuid4()):
        with locks.serialised(uuid.uuid4()):
            reached = True
    assert reached


def test_a_version_conflict_is_retried_and_counted() -> None:
    from eventsourcing.persistence import IntegrityError

    from calendar_domain import retry

    counted: list[str] = []
    tries = iter([IntegrityError("another process wrote first"), None])

    def attempt() -> str:
        failure = next(tries)
        if failure is not None:
            raise failure
        return "saved"

    before = retry.conflicts.count
    retry.count_conflicts_with(counted.append)
    try:
        assert retry.retrying(attempt) == "saved"
    finally:
        retry.count_conflicts_with(before)
    assert counted == ["retried"]
