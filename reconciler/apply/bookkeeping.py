"""State bookkeeping of an apply: stale-plan checks, ownership, the essence of each applied address.

Used only by the executor (``reconciler.apply.executor``) while it holds the state lock. ``StateKeeper``

* refuses a plan whose state lineage/serial no longer match the state file (``StalePlanError`` saying
  what moved, R14; docs/architecture.md#plan-apply-state-drift), and, on ``--resume``, a state that moved
  other than by the interrupted apply itself;
* after every verified step writes the next state (atomic, ``StateStore.write``): the essence of the
  address (``{"sha256": ...}`` for trust certificates, ``{"started_at": ...}`` for TVS restarts,
  ``{"value": ...}`` for parameters, ``{"tftp": [...]}`` for option 150 — docs/state-and-drift.md) and,
  for a trust certificate this apply created, an ``OwnedCertificate`` so that ``mode: exact`` later
  removes only what reconciler added; a deleted certificate loses both.

Action steps (``reset``, ``gate``) have no essence but still write (so the serial counts verified
steps, which is what the resume check relies on).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from reconciler.errors import StalePlanError, StateError
from reconciler.model import Action, Change, FrozenMap, Value, thaw
from reconciler.plan.document import Plan
from reconciler.plan.fingerprint import check_state
from reconciler.state.journal import JournalHeader
from reconciler.state.store import JSONValue, OwnedCertificate, StateSnapshot, StateStore, utc_now

__all__ = ["StateKeeper", "essence_for", "plan_digest"]

_NO_ESSENCE = frozenset({"reset", "gate"})


def plan_digest(plan: Plan) -> str:
    """``sha256:<hex>`` of the plan's canonical JSON: the journal's ``plan_fingerprint``."""
    text = json.dumps(plan.to_dict(), sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def essence_for(change: Change, observed: Value) -> JSONValue:
    """The normalised essence of an applied change (None: nothing to record for this kind)."""
    kind = change.address.kind
    if kind in _NO_ESSENCE:
        return None
    after = thaw(change.after)
    seen = thaw(observed)
    if kind == "trust":
        digest = _field(after, "sha256") or _field(seen, "sha256")
        return {"sha256": digest} if digest is not None else after
    if kind == "tvs":
        started = _field(seen, "started_at") or _field(after, "started_at") or utc_now()
        loads = _field(after, "loads")  # what its stores held at the restart (R8 freshness, tvsfresh)
        return {"started_at": started, "loads": loads} if isinstance(loads, list) else {"started_at": started}
    if kind == "param":
        value = _field(after, "value") if isinstance(after, dict) else after
        return {"value": value, "set_at": utc_now()}  # when it became so (R2: the forecast reads it)
    if kind == "option150":
        if isinstance(after, list):
            return {"tftp": after}
        tftp = _field(after, "tftp") or _field(after, "addresses")
        return {"tftp": tftp} if tftp is not None else after
    result: JSONValue = after if after is not None else seen
    return result


def _field(value: Any, key: str) -> Any:
    return value.get(key) if isinstance(value, dict) else None


class StateKeeper:
    """Holds the current snapshot of a locked ``StateStore`` and records verified steps."""

    def __init__(self, *, store: StateStore, apply_id: str) -> None:
        self.store = store
        self.apply_id = apply_id
        self.snapshot = store.read()

    def check_plan(self, plan: Plan) -> None:
        """A fresh apply: the state must be exactly the one the plan was built from."""
        check_state(plan, self.snapshot, path=self.store.path)

    def check_resume(self, header: JournalHeader, *, verified_steps: int, in_doubt: int) -> None:
        """``--resume``: the state may only have moved by the interrupted apply's own writes (one per
        verified step, plus at most one per step left in doubt)."""
        s = self.snapshot
        moved = s.serial - header.serial
        same_lineage = header.lineage is None or header.lineage == s.lineage
        if same_lineage and verified_steps <= moved <= verified_steps + in_doubt:
            return
        raise StalePlanError(
            f"cannot resume: the state moved since the interrupted apply (it started at serial "
            f"{header.serial} and journaled {verified_steps} verified step(s); the state is at serial "
            f"{s.serial}, lineage {s.lineage})",
            changes=(f"state serial {header.serial}+{verified_steps} → {s.serial}",),
            hint="another apply ran in between: run `reconciler plan` again and apply the new plan",
        )

    def record(self, change: Change, observed: Value) -> StateSnapshot:
        """Write the state after a verified step: essence and ownership (atomic, serial + 1)."""
        self.snapshot = self.store.write(self._with(self.snapshot, change, observed))
        return self.snapshot

    def record_many(self, verified: Sequence[tuple[Change, Value]]) -> StateSnapshot:
        """Write the state after several verified steps of one batch in one atomic write (serial + one
        per step, as one write each would leave it): a wave's 63 option 150 pools cost one write, not
        63 (each rewrites and fsyncs the whole state and its backup)."""
        snap = self.snapshot
        for change, observed in verified:
            snap = self._with(snap, change, observed)
        self.snapshot = self.store.write(snap, steps=len(verified))
        return self.snapshot

    def _with(self, snap: StateSnapshot, change: Change, observed: Value) -> StateSnapshot:
        address = change.address
        if change.action is Action.DELETE:
            snap = snap.without_essence(address)
            if address.kind == "trust":
                _, cluster, store, cert_id = address.parts
                snap = snap.without_owned(cluster=cluster, store=store, cert_id=cert_id)
        else:
            essence = essence_for(change, observed)
            if essence is not None:
                try:
                    snap = snap.with_essence(address, essence)
                except StateError:  # a provider value we must not store: keep what was asked for
                    snap = snap.with_essence(address, {"applied": True})
            if address.kind == "trust" and change.action in (Action.CREATE, Action.REPLACE):
                snap = snap.with_owned(self._owned(change, observed))
        return snap

    def _owned(self, change: Change, observed: Value) -> OwnedCertificate:
        _, cluster, store, cert_id = change.address.parts
        digest = _digest_of(change.after) or _digest_of(observed) or ""
        return OwnedCertificate(
            cluster=cluster,
            store=store,
            cert_id=cert_id,
            sha256=digest,
            added_at=utc_now(),
            apply_id=self.apply_id,
        )


def _digest_of(value: Value) -> str | None:
    if isinstance(value, FrozenMap | Mapping):
        digest = value.get("sha256")
        return str(digest) if digest is not None else None
    return None
