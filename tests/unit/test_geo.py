"""bot.domain.geo: geodesic distance, GCJ-02 / BD-09 conversions and typed coordinates."""

from __future__ import annotations

import pytest

from bot.config import TravelRules
from bot.domain.geo import (
    bd09_to_gcj02,
    bd09_to_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    geodesic_m,
    in_mainland_china,
    parse_coordinates,
    to_wgs84,
    wgs84_to_gcj02,
)
from bot.domain.payroll import travel_fen

STATION = (30.6570, 104.0660)
EXAMPLE_4_SITE = (30.656940, 104.191203)

CHINA_POINTS = [
    STATION,  # Chengdu
    (39.9042, 116.4074),  # Beijing
    (31.2304, 121.4737),  # Shanghai
    (45.8038, 126.5350),  # Harbin
    (20.0440, 110.1999),  # Haikou
    (43.8256, 87.6168),  # Urumqi
    (29.6520, 91.1721),  # Lhasa
]
OUTSIDE_POINTS = [
    (35.6762, 139.6503),  # Tokyo
    (40.7128, -74.0060),  # New York
    (25.0330, 121.5654),  # Taipei (excluded box)
    (55.7558, 37.6173),  # Moscow
    (-33.8688, 151.2093),  # Sydney
]


def test_example_4_distance_is_12_km_and_pays_24_96_yuan() -> None:
    distance = geodesic_m(STATION, EXAMPLE_4_SITE)
    assert distance == pytest.approx(12_000, abs=1.0)
    assert travel_fen(distance, TravelRules()) == 2496


def test_geodesic_is_symmetric_and_zero_on_the_spot() -> None:
    assert geodesic_m(STATION, STATION) == 0
    assert geodesic_m(STATION, EXAMPLE_4_SITE) == pytest.approx(geodesic_m(EXAMPLE_4_SITE, STATION))


def test_wgs84_to_gcj02_matches_the_published_beijing_example() -> None:
    lat, lon = wgs84_to_gcj02(39.915, 116.404)
    assert lat == pytest.approx(39.91640428150164, abs=1e-9)
    assert lon == pytest.approx(116.41024449916938, abs=1e-9)


@pytest.mark.parametrize("point", CHINA_POINTS)
def test_gcj02_offset_is_hundreds_of_metres_and_round_trips_within_half_a_metre(
    point: tuple[float, float],
) -> None:
    shifted = wgs84_to_gcj02(*point)
    assert 100 < geodesic_m(point, shifted) < 800
    back = gcj02_to_wgs84(*shifted)
    assert geodesic_m(point, back) < 0.5
    assert to_wgs84(*shifted, "gcj02") == back


@pytest.mark.parametrize("point", OUTSIDE_POINTS)
def test_outside_mainland_china_no_offset_is_applied(point: tuple[float, float]) -> None:
    assert not in_mainland_china(*point)
    assert wgs84_to_gcj02(*point) == point
    assert gcj02_to_wgs84(*point) == point


def test_bd09_known_conversion() -> None:
    lat, lon = bd09_to_gcj02(39.915, 116.404)  # the customary published example
    assert lat == pytest.approx(39.90865673957631, abs=1e-9)
    assert lon == pytest.approx(116.39762729119315, abs=1e-9)
    lat, lon = gcj02_to_bd09(39.915, 116.404)
    assert lat == pytest.approx(39.92133699351021, abs=1e-9)
    assert lon == pytest.approx(116.41036949371029, abs=1e-9)


@pytest.mark.parametrize("point", CHINA_POINTS)
def test_bd09_to_wgs84_round_trip_within_half_a_metre(point: tuple[float, float]) -> None:
    baidu = gcj02_to_bd09(*wgs84_to_gcj02(*point))
    assert geodesic_m(point, bd09_to_wgs84(*baidu)) < 0.5
    assert to_wgs84(*baidu, "bd09") == bd09_to_wgs84(*baidu)


def test_to_wgs84_passes_wgs84_through_and_rejects_unknown_systems() -> None:
    assert to_wgs84(30.657, 104.066, "wgs84") == (30.657, 104.066)
    with pytest.raises(ValueError, match="unknown coordinate system"):
        to_wgs84(30.657, 104.066, "epsg3857")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30.657, 104.066", (30.657, 104.066)),
        ("30.657 104.066", (30.657, 104.066)),
        ("30.657,104.066", (30.657, 104.066)),
        ("  30.657 ,  104.066  ", (30.657, 104.066)),
        ("30.657，104.066", (30.657, 104.066)),
        ("-33.8688, 151.2093", (-33.8688, 151.2093)),
        ("90, -180", (90.0, -180.0)),
        ("30 104", (30.0, 104.0)),
    ],
)
def test_parse_coordinates_accepts(text: str, expected: tuple[float, float]) -> None:
    assert parse_coordinates(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "hello",
        "30.657",
        "30.657, 104.066, 12",
        "91, 104",
        "-90.5, 104",
        "30, 180.01",
        "30, -181",
        "nan, 104",
        "inf, 104",
        "3e1, 104",
        "30.657; ",
        "1234, 5",
    ],
)
def test_parse_coordinates_rejects(text: str) -> None:
    assert parse_coordinates(text) is None
