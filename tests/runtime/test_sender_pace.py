"""The overall pace shared by the sender and direct replies (SPEC §2, issue 8).

The pace counts sends on their answers, so whatever the network delay, no second as the
server counts it holds more than the limit; bulk sending leaves room for direct replies.
"""

from __future__ import annotations

import asyncio
import random
import time

import pytest

from bot.runtime.sender import GlobalPace
from tests.fake_telegram.faults import SlidingWindowLimiter


async def test_no_second_at_the_server_holds_more_than_the_limit_whatever_the_delays() -> None:
    """Requests reach the server after a random delay and are answered after another: the
    server's own sliding window (the fake Bot API's) never refuses one."""
    rate = 40.0
    pace = GlobalPace(rate)
    server = SlidingWindowLimiter(rate)
    refused: list[float] = []
    accepted: list[float] = []
    chance = random.Random(8)

    async def send(bulk: bool) -> None:
        await pace.acquire(bulk=bulk)
        try:
            await asyncio.sleep(chance.uniform(0.0, 0.03))  # on the way to the server
            arrived = time.monotonic()
            (accepted if server.try_acquire(arrived) else refused).append(arrived)
            await asyncio.sleep(chance.uniform(0.0, 0.06))  # the answer on its way back
        finally:
            pace.release()

    sends = [send(bulk=index % 7 != 0) for index in range(120)]
    await asyncio.gather(*sends)

    assert refused == []
    assert len(accepted) == 120
    assert pace.capacity == 40 and pace.reserve == 1


async def test_a_direct_reply_goes_at_once_while_bulk_sending_fills_its_share() -> None:
    pace = GlobalPace(50.0)
    await asyncio.wait_for(pace.acquire(), timeout=10)  # a member is talking to the bot
    for _ in range(pace.capacity - pace.reserve - 1):
        await asyncio.wait_for(pace.acquire(bulk=True), timeout=10)
    blocked_bulk = asyncio.create_task(pace.acquire(bulk=True))
    await asyncio.sleep(0.05)
    assert not blocked_bulk.done()  # bulk has used its share of the window

    await asyncio.wait_for(pace.acquire(), timeout=10)  # the next reply is not held up
    assert not blocked_bulk.done()

    pace.release()  # two sends are answered: their slots free a window later,
    pace.release()  # and the waiting bulk send goes
    await asyncio.wait_for(blocked_bulk, timeout=10)


async def test_bulk_sending_uses_the_whole_limit_while_nobody_is_talking() -> None:
    pace = GlobalPace(50.0)
    for _ in range(pace.capacity):
        await asyncio.wait_for(pace.acquire(bulk=True), timeout=10)
    blocked_bulk = asyncio.create_task(pace.acquire(bulk=True))
    blocked_reply = asyncio.create_task(pace.acquire())
    await asyncio.sleep(0.05)
    assert not blocked_bulk.done() and not blocked_reply.done()  # the limit holds for all
    pace.release()
    await asyncio.wait_for(blocked_reply, timeout=10)
    blocked_bulk.cancel()


async def test_a_pause_after_429_holds_every_sender() -> None:
    pace = GlobalPace(100.0)
    pace.pause(0.3)
    started = time.monotonic()
    await pace.acquire()
    pace.release()
    assert time.monotonic() - started >= 0.29


def test_rates_below_one_a_second_space_sends_by_their_interval() -> None:
    pace = GlobalPace(0.5)
    assert (pace.capacity, pace.window, pace.reserve) == (1, 2.0, 0)
    with pytest.raises(ValueError):
        GlobalPace(0)
