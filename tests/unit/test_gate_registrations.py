"""``reconciler.apply.gate_specs.EstateRegistrations``: every phone a wave gate strands gets a reason (R13).

Found on the lab (tests/e2e/test_lab_failures.py): phones whose ITL was stale (R1) never reached the
target, so the target's RisPort70 did not list them and the gate reported "Unknown, not found"; phones
that moved but could not register were reported UnRegistered with no reason at all. The reader now says
where such a phone still is (the source, looked up best effort) and what to check.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from reconciler.apply.gate_specs import EstateRegistrations
from reconciler.apply.gates import GateSpec, _stranded
from reconciler.errors import TemporaryError
from reconciler.live.protocol import Registration


class _Ris:
    """Only ``registrations`` of a LiveEstate: what RisPort70 of each cluster lists."""

    def __init__(self, listed: Mapping[str, Mapping[str, Registration]], *, failing: str = "") -> None:
        self.listed = listed
        self.failing = failing
        self.asked: list[tuple[str, tuple[str, ...]]] = []

    def registrations(self, cluster: str, names: Sequence[str]) -> Mapping[str, Registration]:
        self.asked.append((cluster, tuple(names)))
        if cluster == self.failing:
            raise TemporaryError("RisPort70 allowance used up", endpoint=f"{cluster}/risport70")
        return {n: r for n, r in self.listed.get(cluster, {}).items() if n in names}


def _reg(name: str, cluster: str, node: str | None, status: str) -> Registration:
    return Registration(name=name, cluster=cluster, node=node, status=status)


LISTED = {
    "new": {
        "SEPA": _reg("SEPA", "new", "cucm-new-sub1", "Registered"),
        "SEPB": _reg("SEPB", "new", "cucm-new-pub", "UnRegistered"),
    },
    "old": {"SEPC": _reg("SEPC", "old", "cucm-old-sub1", "Registered")},
}


def _reader(estate: _Ris, *, source: str | None = "old") -> EstateRegistrations:
    return EstateRegistrations(estate, cluster="new", source=source)  # type: ignore[arg-type]


def test_r13_phone_still_on_the_source_is_reported_with_where_and_why() -> None:
    estate = _Ris(LISTED)
    found = _reader(estate).registrations(["SEPA", "SEPB", "SEPC", "SEPD"])
    assert estate.asked == [("new", ("SEPA", "SEPB", "SEPC", "SEPD")), ("old", ("SEPC", "SEPD"))]
    assert found["SEPA"].reason == ""
    c = found["SEPC"]
    assert (c.status, c.node) == ("Registered", "cucm-old-sub1")
    assert "source cluster old" in c.reason and "R1" in c.reason and "R8" in c.reason
    assert "SEPD" not in found  # known nowhere: the gate says "not found in RisPort70"


def test_r13_phone_unregistered_on_the_target_has_a_reason() -> None:
    found = _reader(_Ris(LISTED)).registrations(["SEPB"])
    assert found["SEPB"].status == "UnRegistered"
    assert "Cisco CallManager" in found["SEPB"].reason and "R13" in found["SEPB"].reason


def test_the_gate_strands_each_phone_with_the_readers_reason() -> None:
    spec = GateSpec(wave="w", phones=("SEPA", "SEPB", "SEPC"), min_share=1.0, deadline=1.0,
                    target_nodes=frozenset({"cucm-new-sub1"}))  # fmt: skip
    found = _reader(_Ris(LISTED)).registrations(spec.phones)
    stranded = [_stranded(spec, d, found.get(d)) for d in ("SEPB", "SEPC")]
    assert all(p.reason for p in stranded)
    assert stranded[1].node == "cucm-old-sub1"


def test_a_failing_source_lookup_does_not_fail_the_gate_read() -> None:
    found = _reader(_Ris(LISTED, failing="old")).registrations(["SEPA", "SEPC"])
    assert set(found) == {"SEPA"}


def test_without_a_source_only_the_target_is_asked() -> None:
    estate = _Ris(LISTED)
    _reader(estate, source=None).registrations(["SEPA", "SEPC"])
    assert [c for c, _ in estate.asked] == ["new"]


def test_every_stranded_phone_carries_the_forecasts_word_and_the_status_reason() -> None:
    """The plan keeps three example phones per stranded group; every other phone of the wave gets the
    wave's forecast (groups with counts), and RisPort70's StatusReason shows in the live reason."""
    from reconciler.apply.gate_specs import _forecast_reasons
    from reconciler.plan.document import StrandedGroup, UnknownGroup, WaveForecast

    forecast = WaveForecast(
        wave="w1",
        scopes=("s",),
        phones=10,
        already=0,
        move=2,
        stranded=(StrandedGroup(rule="R8", reason="stale TVS", phones=5, examples=("SEP1", "SEP2", "SEP3")),),
        unknown=(UnknownGroup(missing="ITL unreadable (R1)", phones=3, examples=("SEP9",)),),
    )
    plan = type("P", (), {"forecast": (forecast,)})()
    named, wave = _forecast_reasons(plan)["w1"]  # type: ignore[arg-type]
    assert named == {"SEP1": "stale TVS (R8)", "SEP2": "stale TVS (R8)", "SEP3": "stale TVS (R8)"}
    assert "5 for: stale TVS (R8)" in wave and "3 unknown: ITL unreadable (R1)" in wave
    spec = GateSpec(
        wave="w1", phones=("SEP1", "SEP4"), min_share=1.0, deadline=0, target_nodes=frozenset({"n"}),
        forecast=named, forecast_wave=wave,
    )  # fmt: skip
    estate = _Ris({"new": {"SEP4": Registration(name="SEP4", cluster="new", node="n", status="UnRegistered",
                                                 status_reason=10)}})  # fmt: skip
    regs = _reader(estate).registrations(["SEP1", "SEP4"])
    four = _stranded(spec, "SEP4", regs["SEP4"])
    assert four.forecast == wave and "StatusReason 10" in four.reason
    assert _stranded(spec, "SEP1", None).forecast == "stale TVS (R8)"
