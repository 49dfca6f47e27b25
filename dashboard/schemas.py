"""Request bodies of the dashboard API (pydantic): shapes and types here, meaning in :mod:`policies`."""
from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

# allow_inf_nan=False: Python's JSON reader accepts NaN and Infinity, the model must never see them
_STRICT = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
MAX_ITEMS = 64
# ids, KPI and region names are short; a bound here keeps every echo of them in an error short too
Name = Annotated[str, StringConstraints(max_length=80)]
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


class Setting(BaseModel):
    """One lever or shock: ``value`` from ``start``, reached after ``ramp`` years, until ``end``."""

    model_config = _STRICT
    value: float | None = None
    start: float | None = None
    ramp: float | None = Field(default=None, ge=0, le=50)
    end: float | None = None
    cities: list[Name] | None = Field(default=None, max_length=MAX_ITEMS)
    allocation: dict[Name, float] | None = Field(default=None, max_length=MAX_ITEMS)


class State(BaseModel):
    """A dashboard scenario: settings that differ from the baseline, and changed assumptions."""

    model_config = _STRICT
    levers: dict[Name, Setting] = Field(default_factory=dict, max_length=MAX_ITEMS)
    shocks: dict[Name, Setting] = Field(default_factory=dict, max_length=MAX_ITEMS)
    assumptions: dict[Name, float] = Field(default_factory=dict, max_length=MAX_ITEMS)

    @field_validator("levers", "shocks", mode="before")
    @classmethod
    def _shorthand(cls, v):
        """A plain number is short for ``{"value": number}``, as in scenario files."""
        if isinstance(v, dict):
            return {k: {"value": x} if isinstance(x, (int, float)) and not isinstance(x, bool) else x
                    for k, x in v.items()}
        return v

    def as_dict(self) -> dict:
        return self.model_dump(exclude_none=True)


class RunRequest(BaseModel):
    model_config = _STRICT
    state: State = Field(default_factory=State)
    kpis: list[Name] | None = Field(default=None, max_length=MAX_ITEMS)   # default: headline KPIs
    city_kpi: Name | None = None
    city_year: float | None = None     # checked against the years of the run by the app
    exercise: Name | None = None


class CheckRequest(BaseModel):
    model_config = _STRICT
    state: State = Field(default_factory=State)


class StateRequest(BaseModel):
    """A scenario state alone (uncertainty bands, dominant loops)."""

    model_config = _STRICT
    state: State = Field(default_factory=State)


class RevealRequest(BaseModel):
    model_config = _STRICT
    prediction: float | Name


def _clean_text(value: str, what: str, limit: int) -> str:
    value = " ".join(value.split())
    if not value:
        raise ValueError(f"{what} must not be empty")
    if len(value) > limit:
        raise ValueError(f"{what} is longer than {limit} characters")
    if any(unicodedata.category(ch).startswith("C") for ch in value):
        raise ValueError(f"{what} contains control characters")
    return value


class Login(BaseModel):
    model_config = _STRICT
    token: Annotated[str, StringConstraints(max_length=200)]


class SubmissionIn(BaseModel):
    """A team's named scenario for the facilitator."""

    model_config = _STRICT
    team: str
    name: str
    state: State = Field(default_factory=State)
    exercise: Name | None = None
    # made by the page once per submission attempt: a retry with the same id returns the stored
    # row instead of adding a duplicate
    submission_id: str | None = Field(default=None, pattern=UUID_PATTERN)

    @field_validator("submission_id")
    @classmethod
    def _uid(cls, v: str | None) -> str | None:
        return v.lower() if v else v

    @field_validator("team")
    @classmethod
    def _team(cls, v: str) -> str:
        return _clean_text(v, "team name", 60)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return _clean_text(v, "scenario name", 80)
