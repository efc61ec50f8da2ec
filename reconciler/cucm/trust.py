"""The phone's trust decision: does a phone accept a new signed CTL, ITL or configuration file?

A pure function over hashable, frozen inputs (docs/cucm-domain.md#trust-model), shared by the
simulator's phones (which memoize it: 80,000 phones boil down to a handful of distinct input
combinations), by the planner's forecast and by the scenario tests. Uncertain points of the model ([I]
in the docs) are fields of ``TrustPolicy``; the defaults follow docs/cucm-domain.md#uncertain-points.

Public API (stable)::

    FileKind(StrEnum)       CTL, ITL, CONFIG
    TrustEntry(identity, role, subject="")                       one (certificate, role) of a trust list
    TrustList(entries: frozenset[TrustEntry])                    a phone's CTL or ITL, compact
        TrustList.empty() / TrustList.from_tlv(file) / TrustList.of(*(cert_or_identity, role), ...)
        .roles_of(identity) -> frozenset[Role]   .identities_with(*roles) -> frozenset[CertIdentity]
        .is_empty  .__len__  .__contains__(identity)
    TvsCache(entries: frozenset[tuple[CertIdentity, frozenset[Role]]])
        TvsCache.from_stores(*, callmanager_trust=(), phone_sast_trust=()) -> TvsCache
        .roles_of(identity) -> frozenset[Role]
    TvsServer(name, certificate: CertIdentity, cache: TvsCache, reachable=True, stores=None)
        ``stores`` (optional): what the node's trust stores hold *now*; lets a rejection name R8
    SignedFile(kind, signer: CertIdentity, signer_subject="")    SignedFile.from_tlv(file, kind=None)
    TrustPolicy(...)        frozen; DEFAULT_POLICY
    Decision(accepted, path, reason, rule=None, tvs=None, roles=frozenset())
    decide(*, ctl, itl, tvs_servers, new_file, policy=DEFAULT_POLICY) -> Decision   (lru-cached)
    SignerKind(StrEnum)     ITLRECOVERY, TFTP_CALLMANAGER, PUBLISHER_CALLMANAGER
    expected_signer(version, kind, *, itl_recovery, tftp_callmanager, publisher_callmanager) -> T
    signer_kind(version, kind) -> SignerKind

TVS roles (the seed's TVS log, docs/cucm-domain.md#what-tvs-knows): a certificate in CallManager-trust is
returned with role TFTP, one in Phone-SAST-trust with role SAST, one in both with both. The phone reaches a
TVS server only when the server's certificate is a TVS record of its current ITL, and asks the servers of its
CallManager group in order until one answers (``TrustPolicy.stop_at_first_answer``).
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from cryptography import x509

from reconciler.cucm.certs import CertIdentity, identity_of, subject_of
from reconciler.cucm.tlv_format import Role, TlvFile
from schemas.version import CucmVersion

__all__ = [
    "DEFAULT_POLICY",
    "AcceptRule",
    "Decision",
    "FileKind",
    "SignedFile",
    "SignerKind",
    "TrustEntry",
    "TrustList",
    "TrustPolicy",
    "TvsCache",
    "TvsServer",
    "decide",
    "expected_signer",
    "signer_kind",
]

T = TypeVar("T")
_NO_ROLES: frozenset[Role] = frozenset()


class FileKind(enum.StrEnum):
    CTL = "CTL"
    ITL = "ITL"
    CONFIG = "config"


@dataclass(frozen=True, slots=True)
class TrustEntry:
    identity: CertIdentity
    role: Role
    subject: str = field(default="", compare=False)


def _index(pairs: Iterable[tuple[CertIdentity, Iterable[Role]]]) -> dict[CertIdentity, frozenset[Role]]:
    out: dict[CertIdentity, set[Role]] = {}
    for identity, roles in pairs:
        out.setdefault(identity, set()).update(roles)
    return {k: frozenset(v) for k, v in out.items()}


@dataclass(frozen=True, slots=True)
class TrustList:
    """A phone's CTL or ITL reduced to what the decision needs: (identity, role) entries."""

    entries: frozenset[TrustEntry] = frozenset()
    _roles: dict[CertIdentity, frozenset[Role]] = field(
        init=False, compare=False, hash=False, repr=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "_roles", _index((e.identity, (e.role,)) for e in self.entries))

    @classmethod
    def empty(cls) -> TrustList:
        return _EMPTY

    @classmethod
    def from_tlv(cls, file: TlvFile) -> TrustList:
        """Entries of every record that carries a serial and an issuer (hash-only records are skipped;
        records with an unknown role code are skipped too)."""
        entries = set()
        for record in file.records:
            identity = record.identity
            if identity is not None and isinstance(record.role, Role):
                entries.add(TrustEntry(identity, record.role, record.subject or ""))
        return cls(frozenset(entries))

    @classmethod
    def of(cls, *items: tuple[x509.Certificate | CertIdentity, Role]) -> TrustList:
        """Build from (certificate or identity, role) pairs (tests, simulator shortcuts)."""
        entries = set()
        for item, role in items:
            if isinstance(item, CertIdentity):
                entries.add(TrustEntry(item, role))
            else:
                entries.add(TrustEntry(identity_of(item), role, subject_of(item)))
        return cls(frozenset(entries))

    def roles_of(self, identity: CertIdentity) -> frozenset[Role]:
        return self._roles.get(identity, _NO_ROLES)

    def identities_with(self, *roles: Role) -> frozenset[CertIdentity]:
        wanted = set(roles)
        return frozenset(i for i, r in self._roles.items() if r & wanted)

    @property
    def is_empty(self) -> bool:
        return not self.entries

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, identity: object) -> bool:
        return identity in self._roles


_EMPTY = TrustList()


@dataclass(frozen=True, slots=True)
class TvsCache:
    """What a TVS answers from: identity -> roles, as loaded from its node's stores at TVS start."""

    entries: frozenset[tuple[CertIdentity, frozenset[Role]]] = frozenset()
    _roles: dict[CertIdentity, frozenset[Role]] = field(
        init=False, compare=False, hash=False, repr=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "_roles", _index(self.entries))

    @classmethod
    def from_stores(
        cls,
        *,
        callmanager_trust: Iterable[CertIdentity] = (),
        phone_sast_trust: Iterable[CertIdentity] = (),
    ) -> TvsCache:
        """CallManager-trust -> role TFTP, Phone-SAST-trust -> role SAST (TVS "rolecount : 2")."""
        index = _index(
            [(i, (Role.TFTP,)) for i in callmanager_trust] + [(i, (Role.SAST,)) for i in phone_sast_trust]
        )
        return cls(frozenset(index.items()))

    def roles_of(self, identity: CertIdentity) -> frozenset[Role]:
        return self._roles.get(identity, _NO_ROLES)


@dataclass(frozen=True, slots=True)
class TvsServer:
    """A TVS of the phone's current CallManager group, in the order the phone asks them."""

    name: str
    certificate: CertIdentity
    cache: TvsCache
    reachable: bool = True
    stores: TvsCache | None = None


@dataclass(frozen=True, slots=True)
class SignedFile:
    """The file a phone just downloaded: its kind and signer."""

    kind: FileKind
    signer: CertIdentity
    signer_subject: str = ""

    @classmethod
    def from_tlv(cls, file: TlvFile, *, kind: FileKind | None = None) -> SignedFile:
        if kind is None:
            kind = FileKind.CTL if file.kind == "CTL" else FileKind.ITL
        return cls(kind=kind, signer=file.signer_identity, signer_subject=file.signer_name)

    def describe(self) -> str:
        who = self.signer_subject or self.signer.issuer
        return f"{who} serial {self.signer.serial_hex}"


@dataclass(frozen=True, slots=True)
class AcceptRule:
    """For one file kind: roles that accept its signer in the current CTL, in the current ITL, and in
    a TVS answer."""

    ctl_roles: frozenset[Role]
    itl_roles: frozenset[Role]
    tvs_roles: frozenset[Role]


@dataclass(frozen=True, slots=True)
class TrustPolicy:
    """The model's uncertain points and their defaults (docs/cucm-domain.md#uncertain-points)."""

    ctl: AcceptRule = AcceptRule(
        ctl_roles=frozenset({Role.SAST}), itl_roles=frozenset({Role.SAST}), tvs_roles=frozenset({Role.SAST})
    )
    itl: AcceptRule = AcceptRule(
        ctl_roles=frozenset({Role.SAST, Role.CCM_TFTP, Role.TFTP}),
        itl_roles=frozenset({Role.SAST}),
        tvs_roles=frozenset({Role.SAST, Role.TFTP}),  # [I] SAST or TFTP
    )
    config: AcceptRule = AcceptRule(
        ctl_roles=frozenset({Role.CCM_TFTP, Role.TFTP}),
        itl_roles=frozenset({Role.CCM_TFTP, Role.TFTP}),
        tvs_roles=frozenset({Role.TFTP, Role.CCM, Role.CCM_TFTP}),  # [I] TFTP or CCM
    )
    #: ITL roles that authenticate a TVS server's certificate.
    tvs_server_roles: frozenset[Role] = frozenset({Role.TVS})
    #: Stop at the first TVS that completes the handshake, even if it does not vouch [I].
    stop_at_first_answer: bool = True
    #: A phone holding neither CTL nor ITL accepts any file (first install).
    accept_when_untrusting: bool = True

    def rule_for(self, kind: FileKind) -> AcceptRule:
        return {FileKind.CTL: self.ctl, FileKind.ITL: self.itl, FileKind.CONFIG: self.config}[kind]


DEFAULT_POLICY = TrustPolicy()


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    """The outcome. ``path`` says how an accepted file was trusted; ``reason`` is always a sentence;
    ``rule`` names the procedure rule a rejection points at (R1, R2, R3, R4, R5, R6, R8)."""

    accepted: bool
    path: str | None
    reason: str
    rule: str | None = None
    tvs: str | None = None
    roles: frozenset[Role] = frozenset()


def _role_names(roles: Iterable[Role]) -> str:
    return ", ".join(r.name for r in sorted(roles)) or "none"


@functools.lru_cache(maxsize=65536)
def decide(
    *,
    ctl: TrustList,
    itl: TrustList,
    tvs_servers: tuple[TvsServer, ...],
    new_file: SignedFile,
    policy: TrustPolicy = DEFAULT_POLICY,
) -> Decision:
    """Would a phone holding ``ctl`` and ``itl`` and asking ``tvs_servers`` accept ``new_file``?

    Memoized: identical inputs are computed once (inputs are frozen and hashable).
    """
    rule = policy.rule_for(new_file.kind)
    signer = new_file.signer
    what = f"{new_file.kind.value} signer {new_file.describe()}"
    if ctl.is_empty and itl.is_empty and policy.accept_when_untrusting:
        return Decision(
            accepted=True, path="first use", reason=f"the phone holds no CTL or ITL, so it accepts the {what}"
        )
    for name, trust_list, wanted in (("CTL", ctl, rule.ctl_roles), ("ITL", itl, rule.itl_roles)):
        held = trust_list.roles_of(signer) & wanted
        if held:
            return Decision(
                accepted=True,
                path=f"signer in {name}",
                reason=f"{what} is a {_role_names(held)} record of the phone's {name}",
                roles=held,
            )
    known_tvs = itl.identities_with(*policy.tvs_server_roles)
    if not known_tvs:
        rollback_like = not itl.identities_with(Role.TFTP, Role.CCM_TFTP)
        if rollback_like and not ctl.is_empty:
            return Decision(
                accepted=False,
                path=None,
                reason="ITL is empty because 'Prepare Cluster for Rollback to pre 8.0' is True and the "
                "CTL still pins the source: the phone cannot authenticate any TVS, so the "
                f"{what} is rejected",
                rule="R2",
            )
        return Decision(
            accepted=False,
            path=None,
            reason=f"the phone's ITL holds no TVS certificate, so no TVS can vouch for the {what}",
            rule="R1",
        )
    if not tvs_servers:
        return Decision(
            accepted=False,
            path=None,
            reason=f"the phone has no TVS server to ask about the {what}",
            rule="R3",
        )
    return _ask_tvs(known_tvs, tvs_servers, new_file, wanted=rule.tvs_roles, policy=policy, what=what)


def _ask_tvs(
    known_tvs: frozenset[CertIdentity],
    servers: tuple[TvsServer, ...],
    new_file: SignedFile,
    *,
    wanted: frozenset[Role],
    policy: TrustPolicy,
    what: str,
) -> Decision:
    signer = new_file.signer
    failures: list[str] = []
    answered: list[TvsServer] = []
    for server in servers:
        if not server.reachable:
            failures.append(f"TVS {server.name} is unreachable")
            continue
        if server.certificate not in known_tvs:
            failures.append(f"TVS {server.name} presents a certificate not in the phone's ITL")
            continue
        roles = server.cache.roles_of(signer)
        if roles & wanted:
            return Decision(
                accepted=True,
                path=f"vouched by TVS {server.name} with roles {_role_names(roles)}",
                reason=f"TVS {server.name} knows the {what} with roles {_role_names(roles)}",
                tvs=server.name,
                roles=roles,
            )
        answered.append(server)
        if policy.stop_at_first_answer:
            break
    if not answered:
        unreachable_only = all(s.reachable is False for s in servers)
        return Decision(
            accepted=False, path=None, reason="; ".join(failures), rule="R3" if unreachable_only else "R1"
        )
    names = ", ".join(s.name for s in answered)
    partial = [(s, s.cache.roles_of(signer)) for s in answered if s.cache.roles_of(signer)]
    stale = [s for s in answered if s.stores is not None and s.stores.roles_of(signer) & wanted]
    if stale:
        return Decision(
            accepted=False,
            path=None,
            reason=f"TVS {stale[0].name} started before its trust stores received the {what}: its cache is "
            "stale until the Cisco Trust Verification Service is restarted",
            rule="R8",
        )
    if partial:
        server, roles = partial[0]
        return Decision(
            accepted=False,
            path=None,
            reason=f"TVS {server.name} knows the {what} only with roles {_role_names(roles)}; a "
            f"{new_file.kind.value} needs {_role_names(wanted)} (the certificate must be in both "
            "CallManager-trust and Phone-SAST-trust)",
            rule="R5",
            roles=roles,
        )
    itl_recovery = "ITLRECOVERY" in new_file.signer_subject.upper()
    return Decision(
        accepted=False,
        path=None,
        reason=f"no TVS server knows signer {new_file.describe()} (asked: {names})",
        rule="R6" if itl_recovery else "R4",
    )


# --- who signs what (docs/cucm-domain.md#who-signs-what) -------------------------------------------


class SignerKind(enum.StrEnum):
    ITLRECOVERY = "ITLRecovery"
    TFTP_CALLMANAGER = "CallManager of the TFTP node"
    PUBLISHER_CALLMANAGER = "CallManager of the publisher"


def signer_kind(version: CucmVersion, kind: FileKind) -> SignerKind:
    """From 12.0 ITL and CTL are signed by ITLRecovery; before, the CTL by the publisher's CallManager
    certificate and the ITL by the TFTP node's; configuration files always by the TFTP node's."""
    if kind is FileKind.CONFIG:
        return SignerKind.TFTP_CALLMANAGER
    if version.at_least(12):
        return SignerKind.ITLRECOVERY
    return SignerKind.PUBLISHER_CALLMANAGER if kind is FileKind.CTL else SignerKind.TFTP_CALLMANAGER


def expected_signer(
    version: CucmVersion, kind: FileKind, *, itl_recovery: T, tftp_callmanager: T, publisher_callmanager: T
) -> T:
    """Pick the signer among the caller's objects (certificates, IssuedCert, identities...)."""
    return {
        SignerKind.ITLRECOVERY: itl_recovery,
        SignerKind.TFTP_CALLMANAGER: tftp_callmanager,
        SignerKind.PUBLISHER_CALLMANAGER: publisher_callmanager,
    }[signer_kind(version, kind)]
