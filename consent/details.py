"""The ``personal_data_transfer`` authorization detail (RFC 9396), as the service sends it.

Parsing is strict: unknown members, wrong types, empty or duplicated resources are refused,
because whatever is accepted here is what the resident is shown and asked to approve.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from consent.durations import CalendarDuration
from consent.errors import InvalidDuration

DETAIL_TYPE = "personal_data_transfer"

Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.-]*$")]


class Frequency(StrEnum):
    ONE_OFF = "one-off"
    DAILY = "daily"
    CONTINUOUS = "continuous"


def _parses_as_duration(value: str) -> str:
    try:
        CalendarDuration.parse(value)
    except InvalidDuration as error:
        # pydantic reports only ValueError as a ValidationError; anything else escapes.
        raise ValueError(error.detail) from error
    return value


# An ISO 8601 calendar duration kept as written ("P12M"), checked when it is read.
DurationText = Annotated[str, AfterValidator(_parses_as_duration)]


class DataWindow(BaseModel):
    """How far back the service may read, and whether data produced later is included."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    history: DurationText = "P12M"
    include_future: bool = True

    @property
    def history_duration(self) -> CalendarDuration:
        return CalendarDuration.parse(self.history)


class AuthorizationDetail(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["personal_data_transfer"]
    holder: Name
    resources: Annotated[list[Name], Field(min_length=1, max_length=32)]
    purpose: Name
    data_window: DataWindow = DataWindow()
    frequency: Frequency = Frequency.ONE_OFF
    duration: DurationText = "P1Y"

    @field_validator("resources")
    @classmethod
    def _no_duplicates(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("resources must not repeat")
        return value

    @property
    def consent_duration(self) -> CalendarDuration:
        return CalendarDuration.parse(self.duration)
