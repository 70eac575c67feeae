"""Recurring price windows (UTC hours, weekdays, a holiday calendar) and the holiday calendars shipped as data."""

from __future__ import annotations

import functools
import tomllib
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pricing import PricingError

HOLIDAYS_DIR = Path(__file__).parent / "data" / "holidays"

Hour = Annotated[int, Field(strict=True, ge=0, le=24)]
_HOUR = 3_600_000_000  # microseconds
Weekday = Annotated[int, Field(strict=True, ge=1, le=7)]  # ISO: 1 = Monday ... 7 = Sunday


class Holiday(BaseModel):
    """One public holiday, or a run of them: `start` to `end`, both inclusive, in the calendar's local dates."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    start: date
    end: date | None = None
    name: str = ""

    @model_validator(mode="after")
    def _ordered(self) -> Holiday:
        if self.end is not None and self.end < self.start:
            raise ValueError(f"holiday {self.name or self.start}: end {self.end} is before start {self.start}")
        return self

    def dates(self) -> list[date]:
        last = self.end or self.start
        return [self.start + timedelta(days=n) for n in range((last - self.start).days + 1)]


class Calendar(BaseModel):
    """A holiday calendar file (pricing/data/holidays/NAME.toml): local dates, their UTC offset, the years covered."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str
    description: str = ""
    utc_offset: str = "+00:00"           # the dates are local dates at this offset (Beijing: +08:00)
    years: tuple[int, ...]               # years whose holidays are all listed (a later year is unknown)
    source: str
    third_party: bool = False
    checked: date
    holiday: tuple[Holiday, ...] = ()

    @field_validator("utc_offset")
    @classmethod
    def _offset(cls, value: str) -> str:
        try:
            datetime.strptime(value, "%z")
        except ValueError:
            raise ValueError(f"utc_offset must look like +08:00, got {value!r}") from None
        return value

    @functools.cached_property
    def tz(self) -> timezone:
        parsed = datetime.strptime(self.utc_offset, "%z").tzinfo
        assert isinstance(parsed, timezone)
        return parsed

    @functools.cached_property
    def days(self) -> frozenset[date]:
        return frozenset(d for h in self.holiday for d in h.dates())

    def is_holiday(self, at: datetime) -> bool:
        return at.astimezone(self.tz).date() in self.days

    def covers(self, at: datetime) -> bool:
        return at.astimezone(self.tz).year in self.years


@functools.cache
def calendar(name: str) -> Calendar:
    """The shipped holiday calendar `name` (pricing/data/holidays/NAME.toml), validated once."""
    path = HOLIDAYS_DIR / f"{name}.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        known = ", ".join(sorted(p.stem for p in HOLIDAYS_DIR.glob("*.toml"))) or "none"
        raise PricingError(f"no holiday calendar {name!r} (shipped: {known}): {exc.strerror}") from None
    except ValueError as exc:
        raise PricingError(f"{path}: not valid TOML: {exc}") from exc
    try:
        cal = Calendar.model_validate(data)
    except ValidationError as exc:
        raise PricingError(f"{path}: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}") from exc
    if cal.name != name:
        raise PricingError(f"{path}: name must be {name!r}, the file's stem")
    return cal


class Schedule(BaseModel):
    """When a window applies: UTC hour ranges [start, end), on ISO weekdays, except on a calendar's holidays.

    `weekdays` None means every day; `except_holidays` names a calendar in pricing/data/holidays.
    Weekdays are read in the holiday calendar's local time when one is named, else in UTC.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    hours: tuple[tuple[Hour, Hour], ...]
    weekdays: tuple[Weekday, ...] | None = None
    except_holidays: str | None = None

    @model_validator(mode="after")
    def _valid(self) -> Schedule:
        if not self.hours:
            raise ValueError("a window needs at least one [start, end) UTC hour range")
        for start, end in self.hours:
            if start >= end:
                raise ValueError(f"hour range [{start}, {end}) is empty; ranges are UTC and may not wrap midnight")
        if self.weekdays is not None and len(set(self.weekdays)) != len(self.weekdays):
            raise ValueError("weekdays must be distinct")
        if self.except_holidays is not None:
            calendar(self.except_holidays)  # fails loudly now, not at the first priced call
        return self

    def matches(self, at: datetime) -> bool:
        """Whether the instant `at` (aware) falls inside this window."""
        utc = at.astimezone(UTC)
        micros = ((utc.hour * 60 + utc.minute) * 60 + utc.second) * 1_000_000 + utc.microsecond
        if not any(start * _HOUR <= micros < end * _HOUR for start, end in self.hours):
            return False
        cal = calendar(self.except_holidays) if self.except_holidays else None
        local = utc.astimezone(cal.tz) if cal is not None else utc
        if self.weekdays is not None and local.isoweekday() not in self.weekdays:
            return False
        return cal is None or not cal.is_holiday(utc)
