"""Refresh: read every live fact a plan (or drift) needs from a ``LiveEstate``, with bounded parallelism.

Called by ``reconciler.plan.planner.build_plan`` and ``reconciler.plan.drift.detect``. Independent reads (per
cluster facts, identity PEMs, parameters, CallManager groups, TFTP files; option 150 and phones in one
batch each) run on a small thread pool; RisPort70 registrations are read last, for the phones found.
TFTP files are decoded and their signatures verified here (``reconciler.cucm.tlv``): the target's
validity feeds R1 (``NodeFacts.ctl_valid``/``itl_valid``), the source's are the phones' default trust
lists. Never mutates: the estate has no mutating method.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from reconciler.config.desired import desired_parameters
from reconciler.cucm import tlv
from reconciler.cucm.facts import ClusterFacts
from reconciler.cucm.tlv import TlvFile
from reconciler.cucm.trust import TrustList
from reconciler.errors import DomainError
from reconciler.live.pools import PoolListing, read_pools
from reconciler.live.protocol import LiveEstate, PhoneFacts, Registration, TftpFile
from schemas.document import DesiredState
from schemas.policy import PoolLevel

__all__ = ["DecodedFile", "LiveSnapshot", "refresh"]


@dataclass(frozen=True, slots=True, kw_only=True)
class DecodedFile:
    """A TFTP file decoded and verified: ``file`` when it parsed and its signature verified, else
    ``problem`` says why (missing, unreachable, malformed, bad signature)."""

    source: TftpFile
    file: TlvFile | None
    problem: str | None
    trust: TrustList = field(default_factory=TrustList.empty)  # ``file``'s entries, built once per file


@dataclass(frozen=True, slots=True, kw_only=True)
class LiveSnapshot:
    """Everything read in one refresh."""

    facts: Mapping[str, ClusterFacts]
    pems: Mapping[str, Mapping[tuple[str, str], str]]
    params: Mapping[str, Mapping[str, str | None]]
    groups: Mapping[str, Mapping[str, tuple[str, ...]]]
    option150: Mapping[tuple[str, str], tuple[str, ...] | None]
    phones: Mapping[str, tuple[PhoneFacts, ...]]
    files: Mapping[str, Mapping[str, tuple[DecodedFile, DecodedFile]]]  # cluster -> node -> (CTL, ITL)
    registrations: Mapping[str, Registration]  # in the target cluster
    #: in the source cluster, read only while its rollback parameter is True (when each phone last
    #: registered there tells whether it may hold the blanked ITL, R2)
    source_registrations: Mapping[str, Registration] = field(default_factory=dict)
    #: the source's devices by device pool, read only when ``policy.resets.pool_level`` is ``auto``
    pools: PoolListing | None = None


def _decode(item: TftpFile) -> DecodedFile:
    if item.error is not None:
        return DecodedFile(source=item, file=None, problem=item.error)
    if item.data is None:
        return DecodedFile(source=item, file=None, problem=f"{item.name} does not exist")
    try:
        parsed = tlv.parse(item.data)
        tlv.verify(parsed)
    except DomainError as exc:
        return DecodedFile(source=item, file=None, problem=f"{item.name}: {exc}")
    return DecodedFile(source=item, file=parsed, problem=None, trust=TrustList.from_tlv(parsed))


def _with_validity(facts: ClusterFacts, files: Mapping[str, tuple[DecodedFile, DecodedFile]]) -> ClusterFacts:
    nodes = []
    for node in facts.nodes:
        pair = files.get(node.name)
        if pair is None:
            nodes.append(node)
            continue
        ctl, itl = pair
        nodes.append(
            dataclasses.replace(node, ctl_valid=ctl.file is not None, itl_valid=itl.file is not None)
        )
    return dataclasses.replace(facts, nodes=tuple(nodes))


def refresh(state: DesiredState, estate: LiveEstate, *, parallelism: int = 4) -> LiveSnapshot:
    """Read the live estate for ``state`` (source, target, DHCP scopes of the waves, phones)."""
    mig = state.migration
    names = [mig.source, mig.target] + [
        c.name for c in state.clusters if c.name not in (mig.source, mig.target)
    ]
    wanted_params = desired_parameters(state)
    wave_scopes = list(state.wave_scopes())
    scopes = {s.name: s for s in state.dhcp.scopes}
    keys = [(scopes[s].server, s) for s in wave_scopes if s in scopes]
    pool = ThreadPoolExecutor(max_workers=max(1, parallelism), thread_name_prefix="refresh")
    try:
        jobs: dict[str, Future[Any]] = {}

        def submit(key: str, fn: Callable[..., Any], *args: Any) -> None:
            jobs[key] = pool.submit(fn, *args)

        submit("phones", estate.phones, wave_scopes)  # first: RisPort70 pacing is the critical path
        for name in names:
            submit(f"facts:{name}", lambda n: estate.clusters([n]).get(n), name)
            submit(f"pems:{name}", estate.identity_pems, name)
            submit(f"params:{name}", estate.parameters, name, sorted(wanted_params.get(name, {})))
        submit("groups", estate.callmanager_groups, mig.source)
        submit("option150", estate.option150, keys)
        if state.policy.resets.pool_level is PoolLevel.AUTO:
            submit("pools", read_pools, estate, mig.source)
        facts: dict[str, ClusterFacts] = {}
        for name in names:
            value = jobs[f"facts:{name}"].result()
            if value is not None:
                facts[name] = value
        file_jobs = {
            name: pool.submit(estate.tftp_files, name, [n.name for n in facts[name].tftp_nodes])
            for name in (mig.source, mig.target)
            if name in facts
        }
        files = {
            name: {node: (_decode(ctl), _decode(itl)) for node, (ctl, itl) in job.result().items()}
            for name, job in file_jobs.items()
        }
        phones: Mapping[str, tuple[PhoneFacts, ...]] = jobs["phones"].result()
        names_all = sorted({p.name for group in phones.values() for p in group})
        registrations = estate.registrations(mig.target, names_all) if names_all else {}
        blanking = mig.source in facts and facts[mig.source].rollback_to_pre8 is True
        on_source = estate.registrations(mig.source, names_all) if names_all and blanking else {}
        for name, per_node in files.items():
            facts[name] = _with_validity(facts[name], per_node)
        return LiveSnapshot(
            facts=facts,
            pems={n: jobs[f"pems:{n}"].result() for n in names},
            params={n: jobs[f"params:{n}"].result() for n in names},
            groups={mig.source: jobs["groups"].result()},
            option150=jobs["option150"].result(),
            phones=phones,
            files=files,
            registrations=registrations,
            source_registrations=on_source,
            pools=jobs["pools"].result() if "pools" in jobs else None,
        )
    except BaseException:
        # one read failed: do not wait for the others' retries (the estate's owner ends them)
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    finally:
        pool.shutdown(wait=False)
