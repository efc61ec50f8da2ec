"""Live R3: the source TVS nodes serving a wave's CallManager groups must be reachable and Started while
the wave runs.

``TvsWatch(estate, source=, serving=)`` answers ``check(wave)``: ``None`` when every TVS node serving
the wave is reachable and runs TVS, else one sentence naming the nodes and the rule. The executor
(``reconciler.apply.executor``) asks before it starts a wave's option 150 change or reset; the gate
handler (``reconciler.apply.gates``) asks at every poll. A "no" pauses the wave: no more phones are
reset, the journal stays open, and ``apply --resume`` continues once TVS is back (docs/waves.md).
Built by ``reconciler apply`` (``reconciler.commands.apply``) with ``serving_tvs_nodes``. Reads only;
answers are cached for ``ttl`` seconds of the injected clock so a gate's polls do not multiply reads.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence

from reconciler.apply.retry import Clock
from reconciler.errors import ReconcilerError
from reconciler.live.protocol import LiveEstate

__all__ = ["TvsWatch", "serving_tvs_nodes"]


def serving_tvs_nodes(
    estate: LiveEstate, *, source: str, waves: Mapping[str, Sequence[str]]
) -> dict[str, frozenset[str]]:
    """Per wave (name → its scopes): the source nodes that run TVS and are members of the CallManager
    groups of the wave's phones; every source TVS node when the groups cannot be told (R3)."""
    facts = estate.clusters([source]).get(source)
    tvs = frozenset(n.name for n in facts.tvs_nodes) if facts is not None else frozenset()
    try:
        groups = estate.callmanager_groups(source)
    except ReconcilerError:
        groups = {}
    scopes = sorted({s for ss in waves.values() for s in ss})
    phones = estate.phones(scopes) if scopes else {}
    out: dict[str, frozenset[str]] = {}
    for wave, wave_scopes in waves.items():
        names = {p.cm_group for s in wave_scopes for p in phones.get(s, ()) if p.cm_group}
        members = {m for g in names for m in groups.get(g, ())}
        serving = tvs & members
        out[wave] = frozenset(serving) if serving and names <= set(groups) else tvs
    return out


class TvsWatch:
    """``check(wave)``: why the wave must pause (R3), or ``None``."""

    def __init__(
        self,
        estate: LiveEstate,
        *,
        source: str,
        serving: Mapping[str, frozenset[str]],
        clock: Clock,
        ttl: float = 5.0,
    ) -> None:
        self._estate = estate
        self._source = source
        self._serving = dict(serving)
        self._clock = clock
        self._ttl = ttl
        self._cached: tuple[float, dict[str, str]] | None = None
        self._lock = threading.Lock()

    def check(self, wave: str) -> str | None:
        nodes = self._serving.get(wave, frozenset())
        if not nodes:
            return None
        problems = self._problems()
        bad = sorted(n for n in nodes if n in problems)
        if not bad:
            return None
        listed = "; ".join(f"{n}: {problems[n]}" for n in bad)
        return (
            f"wave {wave} paused: the source TVS serving its CallManager groups must stay reachable and "
            f"Started until every phone has registered (R3) — {listed}"
        )

    def _problems(self) -> dict[str, str]:
        """Node → what is wrong with its TVS (reads at most once per ``ttl``)."""
        with self._lock:
            now = self._clock.monotonic()
            if self._cached is not None and now - self._cached[0] < self._ttl:
                return self._cached[1]
            try:
                facts = self._estate.clusters([self._source]).get(self._source)
            except ReconcilerError as exc:
                problems = {n: f"cluster unreadable ({exc})" for ns in self._serving.values() for n in ns}
            else:
                problems = {}
                known = {n.name: n for n in facts.nodes} if facts is not None else {}
                for ns in self._serving.values():
                    for name in ns:
                        node = known.get(name)
                        if node is None:
                            problems[name] = "not found on the source"
                        elif not node.reachable:
                            problems[name] = "unreachable"
                        elif node.tvs_started_at is None:
                            problems[name] = "TVS is not Started"
            self._cached = (now, problems)
            return problems
