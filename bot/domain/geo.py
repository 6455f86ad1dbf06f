"""Pure geo helpers: geodesic distance, Chinese map datums (GCJ-02, BD-09), typed coordinates.

GCJ-02 is the obfuscated datum every map service in mainland China must use; BD-09 is Baidu's
further offset on top of it. The forward formula (WGS-84 -> GCJ-02) is the well-known one on the
Krasovsky ellipsoid; the inverse is found by fixed-point iteration, good to millimetres.
"""

from __future__ import annotations

import functools
import math
import re

from geopy.distance import geodesic

Point = tuple[float, float]  # (latitude, longitude) in decimal degrees

SYSTEMS = ("wgs84", "gcj02", "bd09")

_A = 6378245.0  # Krasovsky 1940 semi-major axis, metres
_EE = 0.00669342162296594323  # Krasovsky 1940 first eccentricity squared
_X_PI = math.pi * 3000.0 / 180.0
_BD_DLAT = 0.006
_BD_DLON = 0.0065
_INVERSE_TOLERANCE_DEG = 1e-10  # about 0.01 mm
_INVERSE_MAX_STEPS = 30

# (north, west, south, east): the customary boxes for mainland China and the exclusions
# (Taiwan and border countries) used by most GCJ-02 implementations.
_CHINA_BOXES = (
    (49.220400, 79.446200, 42.889900, 96.330000),
    (54.141500, 109.687200, 39.374200, 135.000200),
    (42.889900, 73.124600, 29.529700, 124.143255),
    (29.529700, 82.968400, 26.718600, 97.035200),
    (29.529700, 97.025300, 20.414096, 124.367395),
    (20.414096, 107.975793, 17.871542, 111.744104),
)
_EXCLUDED_BOXES = (
    (25.398623, 119.921265, 21.785006, 122.497559),
    (22.284000, 101.865200, 20.098800, 106.665000),
    (21.542200, 106.452500, 20.487800, 108.051000),
    (55.817500, 109.032300, 50.325700, 119.127000),
    (55.817500, 127.456800, 49.557400, 137.022700),
    (44.892200, 131.266200, 42.569200, 137.022700),
)

_NUMBER = r"([+-]?\d{1,3}(?:\.\d+)?)"
_COORDINATES = re.compile(rf"^\s*{_NUMBER}\s*(?:[,，;；]\s*|\s+){_NUMBER}\s*$")


def geodesic_m(a: Point, b: Point) -> float:
    """Geodesic distance in metres between two WGS-84 (lat, lon) points."""
    return _geodesic_m(float(a[0]), float(a[1]), float(b[0]), float(b[1]))


@functools.lru_cache(maxsize=4096)
def _geodesic_m(lat_a: float, lon_a: float, lat_b: float, lon_b: float) -> float:
    # Karney's method in pure Python costs about 0.1 ms; the same pairs come back often (the
    # station and a ticket's site on every card, a site and a technician standing at it).
    return geodesic((lat_a, lon_a), (lat_b, lon_b)).meters


def _in_box(lat: float, lon: float, box: tuple[float, float, float, float]) -> bool:
    north, west, south, east = box
    return south <= lat <= north and west <= lon <= east


def in_mainland_china(lat: float, lon: float) -> bool:
    """True where Chinese map services apply the GCJ-02 offset."""
    return any(_in_box(lat, lon, b) for b in _CHINA_BOXES) and not any(
        _in_box(lat, lon, b) for b in _EXCLUDED_BOXES
    )


def _offset_lat(x: float, y: float) -> float:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return ret


def _offset_lon(x: float, y: float) -> float:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return ret


def _gcj02_delta(lat: float, lon: float) -> Point:
    d_lat = _offset_lat(lon - 105.0, lat - 35.0)
    d_lon = _offset_lon(lon - 105.0, lat - 35.0)
    rad_lat = lat / 180.0 * math.pi
    magic = 1 - _EE * math.sin(rad_lat) ** 2
    sqrt_magic = math.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrt_magic) * math.pi)
    d_lon = (d_lon * 180.0) / (_A / sqrt_magic * math.cos(rad_lat) * math.pi)
    return d_lat, d_lon


def wgs84_to_gcj02(lat: float, lon: float) -> Point:
    """WGS-84 to GCJ-02; outside mainland China the point is returned unchanged."""
    if not in_mainland_china(lat, lon):
        return lat, lon
    d_lat, d_lon = _gcj02_delta(lat, lon)
    return lat + d_lat, lon + d_lon


def gcj02_to_wgs84(lat: float, lon: float) -> Point:
    """GCJ-02 to WGS-84 by iterating the forward formula (round trip well under 0.5 m)."""
    if not in_mainland_china(lat, lon):
        return lat, lon
    w_lat, w_lon = lat, lon
    for _ in range(_INVERSE_MAX_STEPS):
        d_lat, d_lon = _gcj02_delta(w_lat, w_lon)
        e_lat = lat - (w_lat + d_lat)
        e_lon = lon - (w_lon + d_lon)
        w_lat += e_lat
        w_lon += e_lon
        if abs(e_lat) < _INVERSE_TOLERANCE_DEG and abs(e_lon) < _INVERSE_TOLERANCE_DEG:
            break
    return w_lat, w_lon


def gcj02_to_bd09(lat: float, lon: float) -> Point:
    """GCJ-02 to Baidu BD-09."""
    z = math.hypot(lon, lat) + 0.00002 * math.sin(lat * _X_PI)
    theta = math.atan2(lat, lon) + 0.000003 * math.cos(lon * _X_PI)
    return z * math.sin(theta) + _BD_DLAT, z * math.cos(theta) + _BD_DLON


def bd09_to_gcj02(lat: float, lon: float) -> Point:
    """Baidu BD-09 to GCJ-02 (the customary closed-form inverse)."""
    x = lon - _BD_DLON
    y = lat - _BD_DLAT
    z = math.hypot(x, y) - 0.00002 * math.sin(y * _X_PI)
    theta = math.atan2(y, x) - 0.000003 * math.cos(x * _X_PI)
    return z * math.sin(theta), z * math.cos(theta)


def bd09_to_wgs84(lat: float, lon: float) -> Point:
    """Baidu BD-09 to WGS-84 (via GCJ-02)."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lat, lon))


def to_wgs84(lat: float, lon: float, system: str) -> Point:
    """Convert a point given in `system` (wgs84, gcj02 or bd09) to WGS-84."""
    if system == "wgs84":
        return lat, lon
    if system == "gcj02":
        return gcj02_to_wgs84(lat, lon)
    if system == "bd09":
        return bd09_to_wgs84(lat, lon)
    raise ValueError(f"unknown coordinate system {system!r}; expected one of {', '.join(SYSTEMS)}")


def valid_point(lat: float, lon: float) -> bool:
    """True for a finite latitude in [-90, 90] and longitude in [-180, 180]."""
    return math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180


def parse_coordinates(text: str) -> Point | None:
    """Parse "lat, lon" or "lat lon" in decimal degrees; None when malformed or out of range."""
    match = _COORDINATES.match(text or "")
    if match is None:
        return None
    lat, lon = float(match.group(1)), float(match.group(2))
    return (lat, lon) if valid_point(lat, lon) else None
