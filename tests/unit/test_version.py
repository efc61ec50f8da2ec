"""CucmVersion parsing and ordering (R6 and R10 depend on these comparisons)."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from schemas.version import CucmVersion


def test_parse_full_version() -> None:
    v = CucmVersion("11.5.1.12900-21")
    assert v.parts == (11, 5, 1, 12900, 21)
    assert str(v) == "11.5.1.12900-21"


@pytest.mark.parametrize(
    ("older", "newer"),
    [("11.5.1.12900-21", "12.0"), ("10.5.2.13899", "10.5.2.13900-12"), ("14.0", "14.0.1"), ("9.1.2", "10.5")],
)
def test_ordering(older: str, newer: str) -> None:
    assert CucmVersion(older) < CucmVersion(newer)


def test_at_least_for_r6() -> None:
    assert not CucmVersion("11.5.1").at_least(12)
    assert CucmVersion("12.0.1").at_least(12)
    assert CucmVersion("14.0.1").at_least(12)


@pytest.mark.parametrize("bad", ["", "eleven", "11", "11.5.x", "11.5.1.2.3.4"])
def test_rejects_garbage(bad: str) -> None:
    with pytest.raises(ValueError, match="not a CUCM version"):
        CucmVersion(bad)


def test_pydantic_round_trip() -> None:
    class M(BaseModel):
        version: CucmVersion

    m = M.model_validate({"version": 14.0})
    assert m.version == CucmVersion("14.0")
    assert m.model_dump(mode="json") == {"version": "14.0"}
    assert M.model_json_schema()["properties"]["version"]["type"] == "string"
