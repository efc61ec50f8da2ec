"""The fingerprint of the live facts a plan relied on, and the stale-plan check (R14).

``fingerprint_of`` is called by the planner: it maps a fact key to the sha256 of the fact's normalised
value. Keys (``/``-separated, since names may contain dots)::

    identity/<cluster>/<node>/callmanager     identity/<cluster>/<node>/tvs     itlrecovery/<cluster>
    store/<cluster>/<node>/<store>            tvs/<cluster>/<node>              (TVS start time)
    param/<cluster>/<name>                    option150/<server>/<scope>

``check_state`` compares the plan with the state file alone (lineage and serial): decidable offline, so
``apply PLAN`` calls it before any connection, and the executor again under the state lock.
``check_fresh`` is called by ``apply PLAN`` (the executor) before anything runs: it re-reads exactly
those facts through a ``LiveEstate``, compares, also compares the state's lineage/serial, and raises
``StalePlanError`` listing what changed ("identity certificate regenerated (R14)", "trust store
changed", "option 150 changed", "state moved") — or returns an empty list when the plan is fresh.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.cucm.facts import CertRef, ClusterFacts
from reconciler.errors import StalePlanError
from reconciler.live.protocol import LiveEstate
from reconciler.plan.document import Plan
from reconciler.vocabulary import PHONE_TRUST_STORES

if TYPE_CHECKING:
    from reconciler.state.store import StateSnapshot

__all__ = ["check_fresh", "check_state", "fingerprint_of", "stale_reasons"]


def _digest(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def _cert(ref: CertRef | None) -> object:
    return None if ref is None else [ref.identity.serial, ref.identity.issuer, ref.sha1]


def _when(value: datetime | None) -> object:
    return None if value is None else value.isoformat()


def _cluster_keys(facts: ClusterFacts) -> dict[str, str]:
    out = {f"itlrecovery/{facts.name}": _digest(_cert(facts.itl_recovery))}
    for node in facts.nodes:
        base = f"{facts.name}/{node.name}"
        out[f"identity/{base}/callmanager"] = _digest(_cert(node.callmanager))
        out[f"identity/{base}/tvs"] = _digest(_cert(node.tvs))
        for store in PHONE_TRUST_STORES:
            ids = sorted((i.serial, i.issuer) for i in node.store(store))
            out[f"store/{base}/{store}"] = _digest(ids)
        if node.runs("Cisco Trust Verification Service"):
            out[f"tvs/{base}"] = _digest(_when(node.tvs_started_at))
    return out


def fingerprint_of(
    *,
    facts: Mapping[str, ClusterFacts],
    params: Mapping[str, Mapping[str, str | None]],
    option150: Mapping[tuple[str, str], tuple[str, ...] | None],
) -> dict[str, str]:
    """Fact key -> sha256 for every fact given."""
    out: dict[str, str] = {}
    for name in sorted(facts):
        out.update(_cluster_keys(facts[name]))
    for cluster, values in sorted(params.items()):
        for key, value in sorted(values.items()):
            out[f"param/{cluster}/{key}"] = _digest(value)
    for (server, scope), addresses in sorted(option150.items()):
        out[f"option150/{server}/{scope}"] = _digest(None if addresses is None else list(addresses))
    return out


def _describe(key: str, *, gone: bool) -> str:
    kind, _, rest = key.partition("/")
    parts = rest.split("/")
    if kind == "identity":
        cluster, node, which = parts[0], parts[1], parts[2]
        what = "CallManager" if which == "callmanager" else "TVS"
        return f"{what} identity certificate of {node} ({cluster}) was regenerated or removed (R14)"
    if kind == "itlrecovery":
        return f"ITLRecovery certificate of {parts[0]} was regenerated (R14)"
    if kind == "store":
        return f"trust store {parts[2]} on {parts[1]} ({parts[0]}) changed"
    if kind == "tvs":
        return f"TVS on {parts[1]} ({parts[0]}) restarted or stopped"
    if kind == "param":
        return f"enterprise parameter '{rest.split('/', 1)[1]}' of {parts[0]} changed"
    if kind == "option150":
        return f"option 150 of scope {parts[1]} on {parts[0]} changed"
    return f"{key} {'is gone' if gone else 'changed'}"


def stale_reasons(
    plan: Plan,
    estate: LiveEstate,
    *,
    state_lineage: str | None = None,
    state_serial: int | None = None,
    kinds: Sequence[str] | None = None,
) -> list[str]:
    """What moved since ``plan`` was made (empty when fresh). ``kinds`` limits the fact kinds checked
    (e.g. ``("identity", "itlrecovery")`` during a resumed apply, whose own steps change the rest)."""
    reasons: list[str] = []
    if state_serial is not None:
        if plan.state_lineage is not None and state_lineage not in (None, plan.state_lineage):
            reasons.append(
                f"the state belongs to another lineage ({state_lineage}, plan: {plan.state_lineage})"
            )
        elif state_serial != plan.state_serial:
            reasons.append(f"the state moved: serial {plan.state_serial} at plan time, {state_serial} now")
    keys = [k for k in plan.fingerprint if kinds is None or k.split("/", 1)[0] in kinds]
    clusters = sorted(
        {k.split("/")[1] for k in keys if k.split("/")[0] in ("identity", "itlrecovery", "store", "tvs")}
    )
    params: dict[str, list[str]] = {}
    scopes: list[tuple[str, str]] = []
    for key in keys:
        kind, _, rest = key.partition("/")
        if kind == "param":
            cluster, name = rest.split("/", 1)
            params.setdefault(cluster, []).append(name)
        elif kind == "option150":
            server, scope = rest.split("/", 1)
            scopes.append((server, scope))
    facts = estate.clusters(clusters) if clusters else {}
    live = fingerprint_of(
        facts=facts,
        params={c: estate.parameters(c, names) for c, names in params.items()},
        option150=estate.option150(scopes) if scopes else {},
    )
    for key in sorted(keys):
        now = live.get(key)
        if now != plan.fingerprint[key]:
            reasons.append(_describe(key, gone=now is None))
    return reasons


def check_fresh(
    plan: Plan,
    estate: LiveEstate,
    *,
    state_lineage: str | None = None,
    state_serial: int | None = None,
    kinds: Sequence[str] | None = None,
) -> list[str]:
    """``[]`` when ``plan`` still matches the world; otherwise ``StalePlanError`` whose ``changes`` say
    what moved (R14: never apply a plan made against other certificates or trust stores)."""
    reasons = stale_reasons(plan, estate, state_lineage=state_lineage, state_serial=state_serial, kinds=kinds)
    if reasons:
        raise StalePlanError(
            "saved plan is stale: " + "; ".join(reasons),
            changes=tuple(reasons),
            hint="run `reconciler plan -o` again and review the new plan",
        )
    return reasons


def check_state(plan: Plan, snapshot: StateSnapshot, *, path: Path) -> None:
    """``StalePlanError`` unless ``snapshot`` (the state file at ``path``) is exactly the state ``plan``
    was built from (lineage and serial; R14: apply only what was reviewed, against what it was made
    from). Reads nothing live."""
    s = snapshot
    if (s.lineage, s.serial) == (plan.state_lineage, plan.state_serial):
        return
    if plan.state_lineage is not None and s.lineage != plan.state_lineage:
        raise StalePlanError(
            f"plan was built from state lineage {plan.state_lineage}, but {path} has "
            f"lineage {s.lineage}: the plan does not belong to this state",
            changes=(f"state lineage {plan.state_lineage} → {s.lineage}",),
            hint="run `reconciler plan` again in this directory",
        )
    raise StalePlanError(
        f"saved plan is stale: it was built from state serial {plan.state_serial}, the state is now at "
        f"serial {s.serial} (updated {s.updated_at}); another apply ran since",
        changes=(f"state serial {plan.state_serial} → {s.serial}",),
        hint="run `reconciler plan` again and apply the new plan",
    )
