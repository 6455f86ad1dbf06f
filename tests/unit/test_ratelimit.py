"""The rolling-window limiter: never more than N sends in any window, per chat and overall."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.services.ratelimit import Limiter, Limits, RollingWindow

GROUP_A, GROUP_B, PRIVATE = -100, -200, 42
LIMITS = Limits(
    overall=5, overall_window=1.0, group=3, group_window=10.0, private=1, private_window=1.0
)


class FakeTime:
    """A clock that sleeping moves forward."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


def most_in_any_window(times: list[float], window: float) -> int:
    """The largest number of times inside any half-open window [t, t + window)."""
    times = sorted(times)
    return max((sum(1 for u in times if t <= u < t + window) for t in times), default=0)


sends = st.lists(
    st.tuples(
        st.sampled_from([GROUP_A, GROUP_B, PRIVATE]),
        st.floats(min_value=0, max_value=4, allow_nan=False),  # gap before asking
        st.floats(min_value=0, max_value=0.5, allow_nan=False),  # until the server answered
    ),
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(sends)
@example(  # a send freed one ulp before its window ended (now - window rounded down)
    [(GROUP_A, 0.0, 0.16832568963958308)]
    + [(GROUP_A, 0.0, 0.0)] * 6
    + [(GROUP_A, 1.0, 0.0)]
    + [(GROUP_A, 0.0, 0.0)] * 3
)
def test_never_more_than_the_limit_in_any_window(plan: list[tuple[int, float, float]]) -> None:
    clock = FakeTime()
    limiter = Limiter(LIMITS, clock=clock, sleep=clock.sleep)
    counted: dict[int, list[float]] = {}
    everything: list[float] = []

    async def run() -> None:
        for chat, gap, latency in plan:
            clock.now += gap
            started = await limiter.acquire(chat)
            clock.now += latency
            limiter.settle(chat, started)
            counted.setdefault(chat, []).append(started)
            everything.append(started)

    asyncio.run(run())
    for chat, times in counted.items():
        limit, window = (3, 10.0) if chat < 0 else (1, 1.0)
        assert most_in_any_window(times, window) <= limit
    assert most_in_any_window(everything, 1.0) <= 5


@settings(max_examples=50, deadline=None)
@given(st.integers(min_value=1, max_value=40))
def test_a_burst_is_spread_over_windows_not_refused(count: int) -> None:
    clock = FakeTime()
    limiter = Limiter(LIMITS, clock=clock, sleep=clock.sleep)
    start = clock.now

    async def run() -> list[float]:
        return [await limiter.acquire(GROUP_A) for _ in range(count)]

    times = asyncio.run(run())
    assert len(times) == count
    assert most_in_any_window(times, 10.0) <= 3
    # It waits only as long as the windows demand: the k-th batch of three starts after k windows.
    assert times[-1] - start <= ((count - 1) // 3) * 10.0 + 1e-6


def test_a_429_holds_the_chat_back_for_retry_after() -> None:
    clock = FakeTime()
    limiter = Limiter(LIMITS, clock=clock, sleep=clock.sleep)
    limiter.hold(GROUP_A, 7)
    assert limiter.delay(GROUP_A) == 7
    assert limiter.delay(GROUP_B) == 0
    started = asyncio.run(limiter.acquire(GROUP_A))
    assert started >= 1007


def test_settle_counts_a_send_from_its_answer() -> None:
    window = RollingWindow(limit=1, window=10)
    window.record(0.0)
    window.settle(0.0, 2.0)
    assert window.wait(9.0) == 3.0  # the server saw it at about 2.0, so the window ends at 12
    assert window.wait(12.0) == 0.0


def test_limits_come_from_config_with_telegrams_defaults() -> None:
    from bot.config import parse_config
    from handlers.outbox_telegram import limits_of
    from tests.conftest import example_data

    limits = limits_of(parse_config(example_data(), env={}))
    assert (limits.overall, limits.overall_window) == (30, 1.0)
    assert (limits.group, limits.group_window) == (20, 60.0)
    assert (limits.private, limits.private_window) == (1, 1.0)
    data = example_data()
    data["telegram"]["private_per_second"] = 0.5  # one every two seconds
    assert limits_of(parse_config(data, env={})).private_window == 2.0


@pytest.mark.parametrize(
    ("key", "value"),
    [("group_window_s", 0), ("private_per_second", -1), ("overall_per_second", "fast")],
)
def test_bad_limits_are_refused_naming_the_key(key: str, value: object) -> None:
    from bot.config import ConfigError, parse_config
    from tests.conftest import example_data

    data = example_data()
    data["telegram"][key] = value
    with pytest.raises(ConfigError) as info:
        parse_config(data, env={})
    assert str(info.value).startswith(f"config.toml: telegram.{key}: ")
