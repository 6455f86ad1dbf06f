"""A location is judged by when the technician sent it, not when the bot got to it:
check-in, lateness and check-out after the bot was unreachable. A location older than
geofence.max_age_s is refused and asked for again (stale evidence)."""

from __future__ import annotations

from datetime import timedelta

from bot.domain.visits import EVENT_MAX_AGE
from tests.e2e.harness import BotHarness
from tests.e2e.test_visits import NOW, SITE, TECH, arrive, setup, visits

GRACE = timedelta(minutes=10)  # sla.late_grace_minutes in config.example.toml


async def _location_while_unreachable(h: BotHarness, delay: timedelta) -> None:
    """The technician sends the site's location at NOW; the bot handles it `delay` later."""
    await h.pause()
    h.emu.clock = lambda: NOW.timestamp()
    update = h.emu.send_location(TECH, *SITE, live_period=600)
    h.clock.set(NOW + delay)
    await h.resume()
    await h.handled(update)


async def test_check_in_counts_from_when_the_location_was_sent(harness: BotHarness) -> None:
    h = harness
    assert h.config.sla.late_grace_minutes * 60 == GRACE.total_seconds()
    # Due (start + grace) 30 s after the location was sent; the bot handles it 90 s after.
    ticket = await setup(h, appointment=NOW - GRACE + timedelta(seconds=30))
    await arrive(h, ticket)
    await _location_while_unreachable(h, timedelta(seconds=90))
    [visit] = await visits(h)
    assert visit["check_in_at"] == NOW.isoformat()
    assert await h.count("SELECT count(*) FROM events WHERE rule = 'DED-LATE'") == 0


async def test_a_location_older_than_the_bound_is_refused_and_asked_again(
    harness: BotHarness,
) -> None:
    h = harness
    assert h.config.evidence.max_age_s == EVENT_MAX_AGE.total_seconds()
    ticket = await setup(h, appointment=NOW - GRACE + timedelta(seconds=30))
    await arrive(h, ticket)
    await _location_while_unreachable(h, timedelta(minutes=10))
    assert await visits(h) == []  # stale evidence: nothing written, the technician is asked again
    h.emu.clock = lambda: (NOW + timedelta(minutes=10)).timestamp()
    await h.handled(h.emu.send_location(TECH, *SITE, live_period=600))
    [visit] = await visits(h)
    assert visit["check_in_at"] == (NOW + timedelta(minutes=10)).isoformat()
    assert await h.count("SELECT count(*) FROM events WHERE rule = 'DED-LATE'") == 1


async def test_check_out_counts_from_the_location_not_the_last_answer(
    harness: BotHarness,
) -> None:
    h = harness
    ticket = await setup(h)
    await arrive(h, ticket)
    await _location_while_unreachable(h, timedelta(seconds=0))
    [visit] = await visits(h)
    await h.press(TECH, TECH, f"visit:out:{visit['id']}")
    h.emu.clock = lambda: (NOW + timedelta(hours=1)).timestamp()
    h.clock.set(NOW + timedelta(hours=1, seconds=20))
    update = h.emu.send_location(TECH, *SITE, horizontal_accuracy=8)
    await h.handled(update)
    h.clock.set(NOW + timedelta(hours=1, minutes=5))  # the questions take five minutes
    for data in ("oc:{}:resolved", "st:{}:hardware", "mk:{}:single", "co:{}:0", "pd:{}:0"):
        await h.press(TECH, TECH, "visit:" + data.format(visit["id"]))
    [visit] = await visits(h)
    left = NOW + timedelta(hours=1)
    assert visit["check_out_at"] == left.isoformat()
