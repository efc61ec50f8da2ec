"""The fingerprint of the live facts a plan relied on, and the stale-plan check (R14).

``fingerprint_of`` is called by the planner: it maps a fact key to the sha256 of the fact's normalised
value — except a TVS start time, kept as its ISO text (``none`` when not running) so that it can be
compared with a tolerance. Keys (``/``-separated, since names may contain dots)::

    identity/<cluster>/<node>/callmanager     identity/<cluster>/<node>/tvs     itlrecovery/<cluster>
    store/<cluster>/<node>/<store>            tvs/<cluster>/<node>              (TVS start time)
    param/<cluster>/<name>                    option150/<server>/<scope>
    itlrecovery/<cluster>/<node>              (a node's own ITLRecovery, before 12.5, R6)

TVS start times are derived from ControlCenterServices' ``UpTime`` (now − uptime), which jitters by about
a second between two reads of an unchanged service; two start times within ``TVS_START_TOLERANCE``
(5 s) are the same start. A real restart moves the start time by at least the time between the plan
and the apply, and a restart shorter than that tolerance after the plan is not a realistic case.
Plans written before this kept a digest there; those are compared exactly.

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
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.cucm.facts import CertRef, ClusterFacts
from reconciler.errors import StalePlanError
from reconciler.live.protocol import LiveEstate
from reconciler.plan.document import Plan
from reconciler.vocabulary import PHONE_TRUST_STORES

if TYPE_CHECKING:
    from reconciler.state.store import StateSnapshot

__all__ = [
    "TVS_START_TOLERANCE",
    "check_fresh",
    "check_state",
    "fingerprint_of",
    "same_tvs_start",
    "stale_reasons",
]

#: Two TVS start times this close are one start (``UpTime`` jitter between reads; module docstring).
TVS_START_TOLERANCE = timedelta(seconds=5)
_NOT_RUNNING = "none"


def _digest(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def _cert(ref: CertRef | None) -> object:
    return None if ref is None else [ref.identity.serial, ref.identity.issuer, ref.sha1]


def _cluster_keys(facts: ClusterFacts) -> dict[str, str]:
    out = {f"itlrecovery/{facts.name}": _digest(_cert(facts.itl_recovery))}
    for node in facts.nodes:
        base = f"{facts.name}/{node.name}"
        out[f"identity/{base}/callmanager"] = _digest(_cert(node.callmanager))
        out[f"identity/{base}/tvs"] = _digest(_cert(node.tvs))
        if node.itl_recovery is not None and not node.publisher:
            out[f"itlrecovery/{base}"] = _digest(_cert(node.itl_recovery))
        for store in PHONE_TRUST_STORES:
            ids = sorted((i.serial, i.issuer) for i in node.store(store))
            out[f"store/{base}/{store}"] = _digest(ids)
        if node.runs("Cisco Trust Verification Service"):
            started = node.tvs_started_at
            out[f"tvs/{base}"] = started.isoformat() if started is not None else _NOT_RUNNING
    return out


def same_tvs_start(planned: str, live: str | None) -> bool:
    """Whether two fingerprint values of a TVS start time name the same start: equal, or both times
    within ``TVS_START_TOLERANCE`` (an older plan's digest compares exactly)."""
    if live is None:
        return False
    if planned == live:
        return True
    try:
        a, b = datetime.fromisoformat(planned), datetime.fromisoformat(live)
    except ValueError:  # a digest (older plan) or "none" against a time
        return False
    if (a.tzinfo is None) != (b.tzinfo is None):
        return False
    return abs(a - b) <= TVS_START_TOLERANCE


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


def _is_digest(value: str) -> bool:
    return len(value) == 64 and all(c in "0123456789abcdef" for c in value)


def _describe(key: str, *, gone: bool) -> str:
    kind, _, rest = key.partition("/")
    parts = rest.split("/")
    if kind == "identity":
        cluster, node, which = parts[0], parts[1], parts[2]
        what = "CallManager" if which == "callmanager" else "TVS"
        return f"{what} identity certificate of {node} ({cluster}) was regenerated or removed (R14)"
    if kind == "itlrecovery":
        where = f"{parts[1]} ({parts[0]})" if len(parts) > 1 else parts[0]
        return f"ITLRecovery certificate of {where} was regenerated (R14)"
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
        now, then = live.get(key), plan.fingerprint[key]
        if key.startswith("tvs/") and not _is_digest(then):
            if not same_tvs_start(then, now):
                reasons.append(_describe(key, gone=now is None))
        elif key.startswith("tvs/") and now is not None and not _is_digest(now):
            if _digest(None if now == _NOT_RUNNING else now) != then:  # an older plan's digest
                reasons.append(_describe(key, gone=False))
        elif now != then:
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
