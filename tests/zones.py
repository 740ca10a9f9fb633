"""Time zones named once, so a test reads as "this pair, in these places" (after khal's tests)."""

from zoneinfo import ZoneInfo

LONDON = "Europe/London"
NEW_YORK = "America/New_York"
KOLKATA = "Asia/Kolkata"  # UTC+05:30, no DST
KATHMANDU = "Asia/Kathmandu"  # UTC+05:45
TOKYO = "Asia/Tokyo"
SYDNEY = "Australia/Sydney"  # southern hemisphere DST
SAO_PAULO = "America/Sao_Paulo"
UTC = ZoneInfo("UTC")


def tz(name: str) -> ZoneInfo:
    return ZoneInfo(name)
