"""Drift (refresh-only) findings with rule ids: R8 stale TVS, R12 option 150 changed since the last
apply, R14 identity regenerated since the last apply, R5 certificate removed, R2 parameter changed."""

from __future__ import annotations

from reconciler.plan.drift import detect
from reconciler.state.store import StateSnapshot
from tests.cucm_material import identity
from tests.unit.fake_estate import ROLLBACK, FakeEstate, World, desired, make_world


def applied() -> tuple[World, StateSnapshot]:
    world = make_world()
    world.apply_all()
    state = StateSnapshot(lineage="L", serial=1)
    cert = world.target.facts().node("cucm-new-sub1").callmanager
    assert cert is not None
    state = state.with_essence(
        "trust.old.Phone-SAST-trust.cucm-new-sub1",
        {"serial": cert.identity.serial_hex, "issuer": cert.identity.issuer},
    )
    state = state.with_essence("option150.router.scope-a", ["127.0.20.1", "127.0.20.2"])
    return world, state


def rules_of(world: World, state: StateSnapshot) -> set[str | None]:
    report = detect(desired=desired(), estate=FakeEstate(world), state=state)
    return {d.rule for d in report.findings}


def test_in_sync_after_apply() -> None:
    world, state = applied()
    assert rules_of(world, state) == set()


def test_stale_tvs_is_R8() -> None:
    world, state = applied()
    world.source.node("cucm-old-sub2").trust_changed_at = world.source.tick()
    assert rules_of(world, state) == {"R8"}


def test_option150_changed_outside_is_R12_and_listed_as_changed() -> None:
    world, state = applied()
    world.option150[("router", "scope-a")] = ("127.0.10.1",)
    report = detect(desired=desired(), estate=FakeEstate(world), state=state)
    assert {d.rule for d in report.findings} == {"R12"}
    assert [str(c.address) for c in report.changed] == ["option150.router.scope-a"]


def test_identity_regenerated_since_last_apply_is_R14() -> None:
    world, state = applied()
    fresh = identity("CallManager", "cucm-new-sub1-v2", "new")
    orig = world.target.cm
    world.target.cm = lambda node: fresh if node == "cucm-new-sub1" else orig(node)  # type: ignore[method-assign]
    assert "R14" in rules_of(world, state)


def test_removed_certificate_and_parameter_change() -> None:
    world, state = applied()
    world.source.publisher.trust["Phone-SAST-trust"].clear()
    world.params["old"][ROLLBACK] = "True"
    assert {"R5", "R2"} <= rules_of(world, state)


def test_tvs_of_unknown_freshness_is_R8() -> None:
    """The certificates the move needs are in the source stores, the provider cannot tell when they
    arrived and the state recorded no restart that loaded them: drift reports the TVS as unknown."""
    import dataclasses
    from collections.abc import Mapping, Sequence

    from reconciler.cucm.facts import ClusterFacts

    class NoChangeTime(FakeEstate):
        def clusters(self, names: Sequence[str]) -> Mapping[str, ClusterFacts]:
            return {
                k: dataclasses.replace(
                    v, nodes=tuple(dataclasses.replace(n, trust_changed_at=None) for n in v.nodes)
                )
                for k, v in super().clusters(names).items()
            }

    world, _ = applied()
    report = detect(desired=desired(), estate=NoChangeTime(world), state=StateSnapshot())
    r8 = [d for d in report.findings if d.rule == "R8"]
    assert {d.address for d in r8} == {
        f"tvs.old.{n}" for n in ("cucm-old-pub", "cucm-old-sub1", "cucm-old-sub2")
    }
    assert all("is unknown" in d.summary for d in r8)
