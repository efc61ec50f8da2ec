"""TVS freshness (R8): is a node's TVS cache known to hold what its trust stores hold now?

Called by ``reconciler.plan.planner`` (which TVS nodes to restart, what the forecast may assume) and
``reconciler.plan.drift`` (a stale TVS, or one of unknown freshness, is a finding). Pure.

A TVS loads its node's CallManager-trust and Phone-SAST-trust when it starts. It is **fresh** only when
it is *known* to have started after every certificate that matters (``relevant``: the certificates the
move needs) arrived in those stores on its node. What tells us so, in order:

1. the cluster reports when the node's stores last changed (``NodeFacts.trust_changed_at``), and the TVS
   started at or after it (else **stale**);
2. the state recorded a TVS restart by reconciler on that node (the ``tvs.<cluster>.<node>`` essence:
   ``started_at`` and ``loads``, the identities its stores held when the plan restarted it after the
   replication check, R7), the TVS has not started earlier than that since, and the certificate is among
   ``loads``.

Anything else is **unknown** (certificates uploaded by hand, an interrupted run, no start time): the
planner treats unknown as stale and plans the rolling restart, which is cheap and safe. A node whose
stores hold none of the relevant certificates is fresh for this purpose (the plan adds them and
restarts it anyway).
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from reconciler.certnames import canonical_dn
from reconciler.cucm.certs import CertIdentity
from reconciler.cucm.facts import NodeFacts, Store
from reconciler.state.store import StateSnapshot

__all__ = ["Freshness", "TvsFreshness", "identity_key", "loads_value", "tvs_freshness"]

_STORES = (Store.CALLMANAGER_TRUST, Store.PHONE_SAST_TRUST)
#: A start time read again may differ by this much (a start derived from an uptime is rounded).
_SLACK = timedelta(seconds=5)


class Freshness(enum.StrEnum):
    FRESH = "fresh"
    STALE = "stale"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class TvsFreshness:
    """The verdict and the sentence that justifies it (for plan reasons and drift findings)."""

    state: Freshness
    reason: str

    @property
    def fresh(self) -> bool:
        return self.state is Freshness.FRESH


def identity_key(identity: CertIdentity) -> str:
    """``<serial hex>:<issuer>``: how a plan step and the state name an identity a TVS loaded. The issuer
    is canonical (``canonical_dn``): a store listed over the admin CLI prints ``CN=X, OU=Y`` where the
    certificate itself says ``CN=X;OU=Y``, and both must give the same key."""
    return f"{identity.serial_hex}:{canonical_dn(identity.issuer)}"


def loads_value(identities: Iterable[CertIdentity]) -> list[str]:
    return sorted({identity_key(i) for i in identities})


def when_recorded(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def tvs_freshness(
    *, cluster: str, node: NodeFacts, state: StateSnapshot, relevant: Collection[CertIdentity]
) -> TvsFreshness:
    """The freshness of ``node``'s TVS with respect to the ``relevant`` certificates (see module doc)."""
    held = {i for s in _STORES for i in node.store(s) if i in relevant}
    started = node.tvs_started_at
    if started is None:
        return TvsFreshness(
            Freshness.UNKNOWN, f"TVS on {node.name} reports no start time (not running, or not readable)"
        )
    started = _aware(started)
    if node.trust_changed_at is not None:
        changed = _aware(node.trust_changed_at)
        if started < changed:
            return TvsFreshness(
                Freshness.STALE,
                f"TVS on {node.name} started {started:%Y-%m-%d %H:%M:%S}, before the last trust change "
                f"{changed:%Y-%m-%d %H:%M:%S}",
            )
        return TvsFreshness(Freshness.FRESH, f"TVS on {node.name} started after the last trust change")
    if not held:
        return TvsFreshness(
            Freshness.FRESH, f"the trust stores of {node.name} hold none of the certificates the move needs"
        )
    essence = state.essence_of(f"tvs.{cluster}.{node.name}")
    record: Mapping[str, object] = essence if isinstance(essence, Mapping) else {}
    restarted = when_recorded(record.get("started_at"))
    loads = record.get("loads")
    loaded = {str(x) for x in loads} if isinstance(loads, list) else set()
    if restarted is not None and started + _SLACK >= restarted:
        unseen = sorted(identity_key(i) for i in held if identity_key(i) not in loaded)
        if not unseen:
            return TvsFreshness(
                Freshness.FRESH,
                f"TVS on {node.name} was restarted by reconciler at {restarted:%Y-%m-%d %H:%M:%S} with "
                "every certificate the move needs in its stores",
            )
        return TvsFreshness(
            Freshness.UNKNOWN,
            f"{len(unseen)} certificate(s) the move needs reached the stores of {node.name} after "
            f"reconciler last restarted its TVS, or outside reconciler: whether TVS (started "
            f"{started:%Y-%m-%d %H:%M:%S}) loaded them is not known",
        )
    return TvsFreshness(
        Freshness.UNKNOWN,
        f"the certificates the move needs are in the stores of {node.name}, but when they arrived is not "
        f"known (uploaded outside reconciler, or by an interrupted run): TVS started "
        f"{started:%Y-%m-%d %H:%M:%S} may not have loaded them",
    )
