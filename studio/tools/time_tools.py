"""Dify's `time` provider: the current time, weekdays, time zone conversion and Unix timestamps (all offline)."""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from studio.core.workflow import ToolMessage
from studio.tools.base import Tool, ToolError, ToolParameter, text

PROVIDER = "time"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
# The choices Dify's editor offers for current_time; any IANA name works.
COMMON_TIMEZONES = (
    "UTC", "America/New_York", "America/Los_Angeles", "America/Chicago", "America/Sao_Paulo", "Asia/Shanghai",
    "Asia/Ho_Chi_Minh", "Asia/Tokyo", "Asia/Dubai", "Asia/Kolkata", "Asia/Seoul", "Asia/Singapore", "Europe/London",
    "Europe/Berlin", "Europe/Moscow", "Australia/Sydney", "Pacific/Auckland", "Africa/Cairo",
)
_TZ_HELP = "IANA time zone, such as UTC, Europe/Paris or Asia/Tokyo"


def _zone(name: str):
    if name.upper() == "UTC":
        return timezone.utc
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, OSError):  # unknown names and malformed paths alike
        raise ToolError(f"Invalid timezone: {name!r}") from None


def current_time(params: dict[str, Any]) -> Iterator[ToolMessage]:
    fmt = params["format"] or TIME_FORMAT
    try:
        zone = _zone(params["timezone"] or "UTC")
    except ToolError:
        yield text(f"Invalid timezone: {params['timezone']}")  # Dify answers this one instead of failing
        return
    yield text(datetime.now(zone).strftime(fmt))


def weekday(params: dict[str, Any]) -> Iterator[ToolMessage]:
    year, month, day = params["year"], params["month"], params["day"]
    try:
        date = datetime(int(year), int(month), int(day))
    except (ValueError, OverflowError):
        yield text(f"Invalid date: Year {year}, Month {month}, Day {day}.")
        return
    readable = f"{calendar.month_name[date.month]} {date.day}, {date.year}"
    yield text(f"{readable} is {calendar.day_name[date.weekday()]}.")


def _local(value: str, zone) -> datetime:
    try:
        return datetime.strptime(value.strip(), TIME_FORMAT).replace(tzinfo=zone)
    except ValueError:
        raise ToolError(f"Invalid time {value!r}: write it as 2024-01-31 13:45:00") from None


def timezone_conversion(params: dict[str, Any]) -> Iterator[ToolMessage]:
    source, target = _zone(params["current_timezone"]), _zone(params["target_timezone"])
    yield text(_local(params["current_time"], source).astimezone(target).strftime(TIME_FORMAT))


def timestamp_to_localtime(params: dict[str, Any]) -> Iterator[ToolMessage]:
    zone = _zone(params["timezone"]) if params["timezone"] else None
    try:
        moment = datetime.fromtimestamp(params["timestamp"], zone)
    except (ValueError, OverflowError, OSError):
        yield text(f"Invalid timestamp: {params['timestamp']}")
        return
    yield text(moment.strftime(TIME_FORMAT))


def localtime_to_timestamp(params: dict[str, Any]) -> Iterator[ToolMessage]:
    zone = _zone(params["timezone"]) if params["timezone"] else None
    moment = _local(params["localtime"], zone) if zone else _local(params["localtime"], None).astimezone()
    yield text(str(int(moment.timestamp())))


def _tz(default: str, required: bool = False, form: str = "llm") -> ToolParameter:
    return ToolParameter("timezone", "string", required, _TZ_HELP, form, default)


TOOLS = (
    Tool(PROVIDER, "current_time", "Current Time", "A tool for getting the current time.", current_time, (
        ToolParameter("format", "string", False, "Time format in strftime standard.", "form", TIME_FORMAT),
        _tz("UTC", form="form"),
    ), example=("What time is it?", {})),
    Tool(PROVIDER, "weekday", "Weekday Calculator",
         "A tool for calculating the weekday of a given date by year, month and day.", weekday, (
             ToolParameter("year", "number", True, "Year"),
             ToolParameter("month", "number", True, "Month"),
             ToolParameter("day", "number", True, "Day"),
         ), example=("Which day of the week was 1 May 2020?", {"year": 2020, "month": 5, "day": 1})),
    Tool(PROVIDER, "timezone_conversion", "Convert time to equivalent time zone",
         "A tool to convert time to equivalent time zone", timezone_conversion, (
             ToolParameter("current_time", "string", True, "Current time, such as 2024-1-1 0:0:0"),
             ToolParameter("current_timezone", "string", True, "Current time zone, such as Asia/Shanghai",
                           default="Asia/Shanghai"),
             ToolParameter("target_timezone", "string", True, "Target time zone, such as Asia/Tokyo",
                           default="Asia/Tokyo"),
         )),
    Tool(PROVIDER, "timestamp_to_localtime", "Timestamp to localtime", "A tool for timestamp convert to localtime",
         timestamp_to_localtime, (ToolParameter("timestamp", "number", True, "Unix timestamp"),
                                  _tz("Asia/Shanghai"))),
    Tool(PROVIDER, "localtime_to_timestamp", "Localtime to timestamp", "A tool for localtime convert to timestamp",
         localtime_to_timestamp, (ToolParameter("localtime", "string", True, "Local time, such as 2024-1-1 0:0:0"),
                                  _tz("Asia/Shanghai"))),
)
