"""The writer's lock: one holder at a time, urgent waiters first, nothing lost to cancellation."""

from __future__ import annotations

import asyncio

import pytest

from storage.writer_lock import WriterLock


async def _hold(lock: WriterLock, name: str, order: list[str], urgent: bool = False) -> None:
    async with lock.hold(urgent=urgent):
        order.append(name)
        await asyncio.sleep(0)  # let the others queue up meanwhile


async def test_urgent_waiters_go_before_queued_ones_each_queue_in_order() -> None:
    lock, order = WriterLock(), []
    async with lock.hold():
        tasks = [
            asyncio.ensure_future(_hold(lock, "tx1", order)),
            asyncio.ensure_future(_hold(lock, "tx2", order)),
            asyncio.ensure_future(_hold(lock, "store1", order, urgent=True)),
            asyncio.ensure_future(_hold(lock, "store2", order, urgent=True)),
        ]
        await asyncio.sleep(0.01)
        assert order == []  # nobody while it is held
    await asyncio.gather(*tasks)
    assert order == ["store1", "store2", "tx1", "tx2"]
    assert not lock.locked


async def test_one_holder_at_a_time() -> None:
    lock, inside, most = WriterLock(), 0, 0

    async def work(urgent: bool) -> None:
        nonlocal inside, most
        async with lock.hold(urgent=urgent):
            inside += 1
            most = max(most, inside)
            await asyncio.sleep(0.001)
            inside -= 1

    await asyncio.gather(*(work(i % 3 == 0) for i in range(30)))
    assert most == 1 and not lock.locked


@pytest.mark.parametrize("handed_over", [False, True])
async def test_a_cancelled_waiter_never_keeps_the_lock(handed_over: bool) -> None:
    lock, order = WriterLock(), []
    await lock._acquire(urgent=False)
    waiter = asyncio.ensure_future(_hold(lock, "cancelled", order))
    after = asyncio.ensure_future(_hold(lock, "after", order))
    await asyncio.sleep(0)
    if handed_over:
        lock._hand_over()  # the lock is passed to the waiter just as it is cancelled
    waiter.cancel()
    if not handed_over:
        lock._hand_over()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    await asyncio.wait_for(after, 1)
    assert order == ["after"] and not lock.locked
