"""Everything a plan read, as a versioned JSON document: record it, write it, read it back, replay it.

``RecordingEstate`` wraps a ``LiveEstate`` and keeps every call and its answer; ``reconciler snapshot``
(``reconciler.commands.snapshot``) builds a plan through it and writes ``to_document(recording)``.
``SnapshotEstate`` is a ``LiveEstate`` that answers the same calls from such a document (an unrecorded
call is a ``PlanError``), so a plan can be rebuilt offline from a snapshot. The document format is
``SNAPSHOT_VERSION`` and ``snapshot_schema()`` (committed as docs/snapshot.schema.json). Version 2 adds
``read_failures``: the reads the estate answered around (``ReportsReadFailures``: node, face, error
class, redacted message), so what was not read stays unknown in a rehearsal. Version 3 adds
``unknown_reads``: whole reads that failed (a publisher's AXL, RisPort70, a DHCP server) while a
*tolerant* ``RecordingEstate`` kept reading the rest; such a call has no answer in ``calls``, and
``SnapshotEstate`` refuses it with what failed (unknown is not empty); it also keeps each node's own
ITLRecovery (``NodeFacts.itl_recovery``, before 12.5, R6) and the subject of each trust entry
(``NodeFacts.trust_subjects``). Versions 1 and 2 are still read.

Sanitised by construction: a LiveEstate answers only public facts (identity certificates as PEM,
trust-store identities, TVS start times, option 150, phones, the signed CTL/ITL files, registrations);
``to_document`` refuses to produce a document holding ``PRIVATE KEY`` text, and credentials never pass
through an estate (providers resolve them). Calls are keyed by their arguments, so the planner's calls
replay exactly.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from reconciler.cucm.certs import CertIdentity
from reconciler.cucm.facts import CertRef, ClusterFacts, NodeFacts
from reconciler.cucm.tlv_format import Role
from reconciler.cucm.trust import TrustEntry, TrustList
from reconciler.errors import PlanError, ReconcilerError
from reconciler.live.protocol import (
    LiveEstate,
    PhoneFacts,
    ReadFailure,
    Registration,
    ReportsReadFailures,
    TftpFile,
)
from reconciler.live.unknown import READ_FACES, UnknownRead, unknown_where
from reconciler.redact import redact
from reconciler.vocabulary import ReadFace
from schemas.version import CucmVersion

__all__ = [
    "SNAPSHOT_VERSION",
    "RecordingEstate",
    "SnapshotEstate",
    "UnknownRead",
    "from_document",
    "to_document",
]

SNAPSHOT_VERSION = 3
#: The versions ``from_document`` reads (1: before ``read_failures``; 2: before ``unknown_reads``).
READABLE_VERSIONS = (1, 2, 3)
METHODS = (
    "clusters",
    "identity_pems",
    "parameters",
    "callmanager_groups",
    "option150",
    "phones",
    "tftp_files",
    "registrations",
)


# --- encoding -------------------------------------------------------------------------------------
def _identity(i: CertIdentity) -> dict[str, Any]:
    return {"serial": str(i.serial), "issuer": i.issuer}


def _identity_of(d: Mapping[str, Any]) -> CertIdentity:
    return CertIdentity(serial=int(d["serial"]), issuer=str(d["issuer"]))


def _ref(r: CertRef | None) -> dict[str, Any] | None:
    return None if r is None else {"identity": _identity(r.identity), "subject": r.subject, "sha1": r.sha1}


def _ref_of(d: Mapping[str, Any] | None) -> CertRef | None:
    if d is None:
        return None
    return CertRef(identity=_identity_of(d["identity"]), subject=str(d["subject"]), sha1=d.get("sha1"))


def _time(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat()


def _time_of(s: str | None) -> datetime | None:
    return None if s is None else datetime.fromisoformat(s)


def _node(n: NodeFacts) -> dict[str, Any]:
    return {
        "name": n.name,
        "publisher": n.publisher,
        "services": sorted(n.services),
        "callmanager": _ref(n.callmanager),
        "tvs": _ref(n.tvs),
        "itl_recovery": _ref(n.itl_recovery),  # a node's own before 12.5 (R6); version 3
        "trust": {
            store: sorted((_identity(i) for i in ids), key=json.dumps) for store, ids in n.trust.items()
        },
        "trust_subjects": sorted(
            ({"identity": _identity(i), "subject": subject} for i, subject in n.trust_subjects.items()),
            key=json.dumps,
        ),  # version 3
        "tvs_started_at": _time(n.tvs_started_at),
        "trust_changed_at": _time(n.trust_changed_at),
        "reachable": n.reachable,
        "ctl_valid": n.ctl_valid,
        "itl_valid": n.itl_valid,
    }


def _node_of(d: Mapping[str, Any]) -> NodeFacts:
    return NodeFacts(
        name=str(d["name"]),
        publisher=bool(d["publisher"]),
        services=frozenset(d["services"]),
        callmanager=_ref_of(d["callmanager"]),
        tvs=_ref_of(d["tvs"]),
        itl_recovery=_ref_of(d.get("itl_recovery")),
        trust_subjects={_identity_of(e["identity"]): str(e["subject"]) for e in d.get("trust_subjects", ())},
        trust={store: frozenset(_identity_of(i) for i in ids) for store, ids in d["trust"].items()},
        tvs_started_at=_time_of(d["tvs_started_at"]),
        trust_changed_at=_time_of(d["trust_changed_at"]),
        reachable=bool(d["reachable"]),
        ctl_valid=d["ctl_valid"],
        itl_valid=d["itl_valid"],
    )


def _cluster(c: ClusterFacts) -> dict[str, Any]:
    return {
        "name": c.name,
        "version": str(c.version),
        "nodes": [_node(n) for n in c.nodes],
        "itl_recovery": _ref(c.itl_recovery),
        "rollback_to_pre8": c.rollback_to_pre8,
        "mixed_mode": c.mixed_mode,
    }


def _cluster_of(d: Mapping[str, Any]) -> ClusterFacts:
    return ClusterFacts(
        name=str(d["name"]),
        version=CucmVersion(str(d["version"])),
        nodes=tuple(_node_of(n) for n in d["nodes"]),
        itl_recovery=_ref_of(d["itl_recovery"]),
        rollback_to_pre8=d["rollback_to_pre8"],
        mixed_mode=bool(d["mixed_mode"]),
    )


def _trust_list(t: TrustList | None) -> list[dict[str, Any]] | None:
    if t is None:
        return None
    entries = [
        {"identity": _identity(e.identity), "role": int(e.role), "subject": e.subject} for e in t.entries
    ]
    return sorted(entries, key=json.dumps)


def _trust_list_of(d: Sequence[Mapping[str, Any]] | None) -> TrustList | None:
    if d is None:
        return None
    return TrustList(
        entries=frozenset(
            TrustEntry(
                identity=_identity_of(e["identity"]), role=Role(int(e["role"])), subject=str(e["subject"])
            )
            for e in d
        )
    )


def _phone(p: PhoneFacts) -> dict[str, Any]:
    return {
        "name": p.name,
        "scope": p.scope,
        "cluster": p.cluster,
        "cm_group": p.cm_group,
        "ctl": _trust_list(p.ctl),
        "itl": _trust_list(p.itl),
        "tftp_node": p.tftp_node,
    }


def _phone_of(d: Mapping[str, Any]) -> PhoneFacts:
    return PhoneFacts(
        name=str(d["name"]),
        scope=str(d["scope"]),
        cluster=str(d["cluster"]),
        cm_group=str(d["cm_group"]),
        ctl=_trust_list_of(d["ctl"]),
        itl=_trust_list_of(d["itl"]),
        tftp_node=d["tftp_node"],
    )


def _file(f: TftpFile) -> dict[str, Any]:
    data = None if f.data is None else base64.b64encode(f.data).decode()
    return {"cluster": f.cluster, "node": f.node, "name": f.name, "data": data, "error": f.error}


def _file_of(d: Mapping[str, Any]) -> TftpFile:
    data = None if d["data"] is None else base64.b64decode(d["data"])
    return TftpFile(cluster=d["cluster"], node=d["node"], name=d["name"], data=data, error=d["error"])


def _registration(r: Registration) -> dict[str, Any]:
    return {"name": r.name, "cluster": r.cluster, "node": r.node, "status": r.status}


def _registration_of(d: Mapping[str, Any]) -> Registration:
    return Registration(name=d["name"], cluster=d["cluster"], node=d["node"], status=d["status"])


def _failure(f: ReadFailure) -> dict[str, Any]:
    return {"cluster": f.cluster, "node": f.node, "face": str(f.face), "error": f.error, "message": f.message}


def _failure_of(d: Mapping[str, Any]) -> ReadFailure:
    return ReadFailure(cluster=str(d["cluster"]), node=d["node"], face=ReadFace(d["face"]),
                       error=str(d["error"]), message=str(d["message"]))  # fmt: skip


def _unknown(u: UnknownRead) -> dict[str, Any]:
    return {"method": u.method, "args": u.args, "failure": _failure(u.failure)}


def _unknown_of(d: Mapping[str, Any]) -> UnknownRead:
    return UnknownRead(method=str(d["method"]), args=list(d["args"]), failure=_failure_of(d["failure"]))


_ENCODE: dict[str, Any] = {
    "clusters": lambda r: {k: _cluster(v) for k, v in r.items()},
    "identity_pems": lambda r: [[list(k), v] for k, v in r.items()],
    "parameters": dict,
    "callmanager_groups": lambda r: {k: list(v) for k, v in r.items()},
    "option150": lambda r: [[list(k), None if v is None else list(v)] for k, v in r.items()],
    "phones": lambda r: {k: [_phone(p) for p in v] for k, v in r.items()},
    "tftp_files": lambda r: {k: [_file(v[0]), _file(v[1])] for k, v in r.items()},
    "registrations": lambda r: {k: _registration(v) for k, v in r.items()},
}
_DECODE: dict[str, Any] = {
    "clusters": lambda d: {k: _cluster_of(v) for k, v in d.items()},
    "identity_pems": lambda d: {(k[0], k[1]): v for k, v in d},
    "parameters": dict,
    "callmanager_groups": lambda d: {k: tuple(v) for k, v in d.items()},
    "option150": lambda d: {(k[0], k[1]): None if v is None else tuple(v) for k, v in d},
    "phones": lambda d: {k: tuple(_phone_of(p) for p in v) for k, v in d.items()},
    "tftp_files": lambda d: {k: (_file_of(v[0]), _file_of(v[1])) for k, v in d.items()},
    "registrations": lambda d: {k: _registration_of(v) for k, v in d.items()},
}


def _args(args: tuple[Any, ...]) -> list[Any]:
    """A call's arguments as JSON (sequences of names or of (server, scope) pairs)."""
    out: list[Any] = []
    for a in args:
        if isinstance(a, str):
            out.append(a)
        else:
            out.append([list(x) if isinstance(x, tuple) else x for x in a])
    return out


# --- recording and replay --------------------------------------------------------------------------
class RecordingEstate:
    """A ``LiveEstate`` that answers through ``inner`` and keeps every call and answer.

    ``tolerant`` (``reconciler snapshot``): a read that fails with a ``ReconcilerError`` is kept as an
    ``UnknownRead`` and answered with an empty mapping so the caller goes on reading the rest. That
    empty answer is never recorded: the caller's result (a plan) is then meaningless and must be
    dropped; only the document is the product. Not tolerant (rehearse, the default), the error passes."""

    def __init__(self, inner: LiveEstate, *, tolerant: bool = False) -> None:
        self.inner = inner
        self.tolerant = tolerant
        self.calls: list[dict[str, Any]] = []
        self.unknown: list[UnknownRead] = []
        self._lock = threading.Lock()

    def _record(self, method: str, *args: Any) -> Any:
        try:
            answer = getattr(self.inner, method)(*args)
        except ReconcilerError as exc:
            if not self.tolerant:
                raise
            cluster, node = unknown_where(method, args)
            failure = ReadFailure(cluster=cluster, node=node, face=READ_FACES[method],
                                  error=type(exc).__name__, message=redact(exc.message))  # fmt: skip
            with self._lock:
                self.unknown.append(UnknownRead(method=method, args=_args(args), failure=failure))
            return {}
        with self._lock:
            self.calls.append({"method": method, "args": _args(args), "answer": _ENCODE[method](answer)})
        return answer

    def read_failures(self) -> tuple[ReadFailure, ...]:
        """The inner estate's failed reads (none when it cannot say)."""
        return self.inner.read_failures() if isinstance(self.inner, ReportsReadFailures) else ()

    def clusters(self, names: Sequence[str]) -> Mapping[str, ClusterFacts]:
        return self._record("clusters", tuple(names))  # type: ignore[no-any-return]

    def identity_pems(self, cluster: str) -> Mapping[tuple[str, str], str]:
        return self._record("identity_pems", cluster)  # type: ignore[no-any-return]

    def parameters(self, cluster: str, names: Sequence[str]) -> Mapping[str, str | None]:
        return self._record("parameters", cluster, tuple(names))  # type: ignore[no-any-return]

    def callmanager_groups(self, cluster: str) -> Mapping[str, tuple[str, ...]]:
        return self._record("callmanager_groups", cluster)  # type: ignore[no-any-return]

    def option150(
        self, scopes: Sequence[tuple[str, str]]
    ) -> Mapping[tuple[str, str], tuple[str, ...] | None]:
        return self._record("option150", tuple(scopes))  # type: ignore[no-any-return]

    def phones(self, scopes: Sequence[str]) -> Mapping[str, tuple[PhoneFacts, ...]]:
        return self._record("phones", tuple(scopes))  # type: ignore[no-any-return]

    def tftp_files(self, cluster: str, nodes: Sequence[str]) -> Mapping[str, tuple[TftpFile, TftpFile]]:
        return self._record("tftp_files", cluster, tuple(nodes))  # type: ignore[no-any-return]

    def registrations(self, cluster: str, names: Sequence[str]) -> Mapping[str, Registration]:
        return self._record("registrations", cluster, tuple(names))  # type: ignore[no-any-return]


def to_document(recording: RecordingEstate, *, source: Mapping[str, Any]) -> dict[str, Any]:
    """The snapshot document (``source``: what it was taken from, e.g. the desired state's path and
    SHA-256 and the time). Refuses text that holds a private key."""
    failures = [_failure(f) for f in recording.read_failures()]
    doc = {"snapshot_version": SNAPSHOT_VERSION, "source": dict(source), "calls": list(recording.calls),
           "read_failures": failures, "unknown_reads": [_unknown(u) for u in recording.unknown]}  # fmt: skip
    if "PRIVATE KEY" in json.dumps(doc):
        raise PlanError("the snapshot would hold a private key: refused", hint="report this: an estate "
                        "answer must never carry one")  # fmt: skip
    return doc


class SnapshotEstate:
    """A ``LiveEstate`` answering from a snapshot document (see ``from_document``)."""

    def __init__(
        self,
        calls: Mapping[tuple[str, str], Any],
        failures: Sequence[ReadFailure] = (),
        unknown: Sequence[UnknownRead] = (),
    ) -> None:
        self._calls = calls
        self._failures = tuple(failures)
        self._unknown = {(u.method, json.dumps(u.args)): u for u in unknown}

    def unknown_reads(self) -> tuple[UnknownRead, ...]:
        """The whole reads that failed when the snapshot was taken (their answers are unknown)."""
        return tuple(self._unknown.values())

    def read_failures(self) -> tuple[ReadFailure, ...]:
        """The reads that failed when the snapshot was taken."""
        return self._failures

    def _answer(self, method: str, *args: Any) -> Any:
        key = (method, json.dumps(_args(args)))
        failed = self._unknown.get(key)
        if failed is not None:
            raise PlanError(
                f"unknown: the snapshot's read {failed.describe()}",
                hint="fix the failed read (reconciler doctor FILE) and take the snapshot again",
            )
        if key not in self._calls:
            raise PlanError(
                f"the snapshot has no answer to {method}{tuple(args)!r}",
                hint="take the snapshot with the same desired state (reconciler snapshot FILE)",
            )
        return self._calls[key]

    def answers(self, method: str) -> list[tuple[list[Any], Any]]:
        """Every recorded call of ``method``: (its arguments as JSON data, the decoded answer), in
        recording order (``reconciler rehearse`` reads a whole snapshot this way)."""
        return [(json.loads(args), answer) for (m, args), answer in self._calls.items() if m == method]

    def clusters(self, names: Sequence[str]) -> Mapping[str, ClusterFacts]:
        return self._answer("clusters", tuple(names))  # type: ignore[no-any-return]

    def identity_pems(self, cluster: str) -> Mapping[tuple[str, str], str]:
        return self._answer("identity_pems", cluster)  # type: ignore[no-any-return]

    def parameters(self, cluster: str, names: Sequence[str]) -> Mapping[str, str | None]:
        return self._answer("parameters", cluster, tuple(names))  # type: ignore[no-any-return]

    def callmanager_groups(self, cluster: str) -> Mapping[str, tuple[str, ...]]:
        return self._answer("callmanager_groups", cluster)  # type: ignore[no-any-return]

    def option150(
        self, scopes: Sequence[tuple[str, str]]
    ) -> Mapping[tuple[str, str], tuple[str, ...] | None]:
        return self._answer("option150", tuple(scopes))  # type: ignore[no-any-return]

    def phones(self, scopes: Sequence[str]) -> Mapping[str, tuple[PhoneFacts, ...]]:
        return self._answer("phones", tuple(scopes))  # type: ignore[no-any-return]

    def tftp_files(self, cluster: str, nodes: Sequence[str]) -> Mapping[str, tuple[TftpFile, TftpFile]]:
        return self._answer("tftp_files", cluster, tuple(nodes))  # type: ignore[no-any-return]

    def registrations(self, cluster: str, names: Sequence[str]) -> Mapping[str, Registration]:
        return self._answer("registrations", cluster, tuple(names))  # type: ignore[no-any-return]


def from_document(doc: Mapping[str, Any]) -> SnapshotEstate:
    """A ``SnapshotEstate`` from a document ``to_document`` wrote; ``PlanError`` for another version."""
    version = doc.get("snapshot_version")
    if version not in READABLE_VERSIONS:
        raise PlanError(f"snapshot version {version!r} is not supported (this tool reads "
                        f"{', '.join(map(str, READABLE_VERSIONS))})")  # fmt: skip
    calls: dict[tuple[str, str], Any] = {}
    for call in doc["calls"]:
        method = str(call["method"])
        if method not in _DECODE:
            raise PlanError(f"the snapshot holds an unknown call {method!r}")
        calls[(method, json.dumps(call["args"]))] = _DECODE[method](call["answer"])
    return SnapshotEstate(
        calls,
        [_failure_of(f) for f in doc.get("read_failures", ())],
        [_unknown_of(u) for u in doc.get("unknown_reads", ())],
    )
