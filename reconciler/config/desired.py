"""Desired resources resolved against live facts: trust certificates, parameter values, option 150.

Called by the planner and by drift. The YAML names certificates by reference ("the CallManager identity
of every TFTP node of ``new``", "ITLRecovery of ``new``", a PEM file); here each reference becomes a
concrete certificate (``CertRef`` + PEM) read from the live identities, with a stable ``cert_id`` that
ends the address ``trust.<cluster>.<store>.<cert_id>``: the node name for CallManager (as
``reconciler.cucm.rules`` names it), ``ITLRecovery-<cluster>`` (before 12.5, where ``nodes:`` selects
each node's own ITLRecovery, ``ITLRecovery-<node>`` for a node other than the publisher, R6),
``<identity>-<node>`` otherwise, the PEM
reference's name (default the file stem). ``tftp_nodes_of`` option 150 values resolve to the hosts of
the cluster's TFTP nodes in declaration order (R4, R12). Pure functions; unresolvable references
become diagnostics.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from reconciler.boundedio import MAX_CERT_BYTES, read_bounded
from reconciler.cucm.certs import load_certificate
from reconciler.cucm.facts import ROLLBACK_PARAMETER, CertRef, ClusterFacts
from reconciler.diagnostics import Diagnostic, Severity
from reconciler.errors import CertificateError
from schemas.cluster import Service
from schemas.dhcp import TftpNodesOf
from schemas.document import DesiredState
from schemas.trust import Identity, IdentityRef, NodeRole, PemRef, TrustMode

__all__ = [
    "DesiredCert",
    "cert_value",
    "desired_option150",
    "desired_parameters",
    "format_param",
    "resolve_trust",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class DesiredCert:
    """A certificate the declaration wants in ``store`` of ``cluster``."""

    cluster: str
    store: str
    cert_id: str
    cert: CertRef
    origin: str
    pem: str | None
    mode: TrustMode

    @property
    def address(self) -> str:
        return f"trust.{self.cluster}.{self.store}.{self.cert_id}"


def cert_value(cert: DesiredCert) -> dict[str, object]:
    """The JSON value a trust change carries (the executor uploads ``pem``; drift compares the rest)."""
    return {
        "cert_id": cert.cert_id,
        "subject": cert.cert.subject,
        "serial": cert.cert.identity.serial_hex,
        "issuer": cert.cert.identity.issuer,
        "sha1": cert.cert.sha1,
        "origin": cert.origin,
        "pem": cert.pem,
    }


def _nodes(ref: IdentityRef, facts: ClusterFacts, decl: DesiredState) -> list[str]:
    cluster = decl.cluster(ref.cluster)
    per_node = ref.identity is Identity.ITLRECOVERY and facts.itl_recovery_per_node  # R6, before 12.5
    if ref.identity is Identity.CAPF or (
        ref.identity is Identity.ITLRECOVERY and (not per_node or ref.nodes is None)
    ):
        pub = facts.publisher
        return [pub.name] if pub is not None else []
    if ref.nodes is None or ref.nodes.role is NodeRole.ALL:
        return [n.name for n in facts.nodes]
    if ref.nodes.names is not None:
        return list(ref.nodes.names)
    if ref.nodes.role is NodeRole.PUBLISHER:
        pub = facts.publisher
        return [pub.name] if pub is not None else []
    service = ref.nodes.role.service if ref.nodes.role is not None else None
    if cluster is None or service is None:
        return []
    # R4: "every node that runs TFTP" is taken from the declaration's services (what the user sees).
    return [n.name for n in cluster.nodes_running(Service(service))]


def _identity_cert(
    ref: IdentityRef, node: str, facts: ClusterFacts, pems: Mapping[tuple[str, str], str]
) -> tuple[CertRef | None, str, str]:
    """(certificate, cert_id, origin) of one identity of one node."""
    kind = ref.identity
    pem = pems.get((node, kind.value))
    if kind is Identity.ITLRECOVERY:
        if not facts.itl_recovery_per_node:
            return facts.itl_recovery, f"ITLRecovery-{facts.name}", f"ITLRecovery of {facts.name}"
        origin = f"ITLRecovery of {node} ({facts.name})"
        return facts.itl_recovery_of(node), facts.itl_recovery_id(node), origin
    origin = f"{kind.value} of {node} ({facts.name})"
    try:
        nf = facts.node(node)
    except KeyError:
        return None, node, origin
    if kind is Identity.CALLMANAGER:
        return nf.callmanager, node, origin
    if kind is Identity.TVS:
        return nf.tvs, f"tvs-{node}", origin
    cert = CertRef.of(load_certificate(pem.encode())) if pem else None
    return cert, f"{kind.value}-{node}", origin


def resolve_trust(
    state: DesiredState,
    facts: Mapping[str, ClusterFacts],
    pems: Mapping[str, Mapping[tuple[str, str], str]],
) -> tuple[list[DesiredCert], list[Diagnostic]]:
    """Every declared certificate, resolved; references that cannot be resolved are ERROR diagnostics."""
    out: list[DesiredCert] = []
    diags: list[Diagnostic] = []
    seen: set[str] = set()
    for index, decl in enumerate(state.trust):
        for ref in decl.certificates:
            if isinstance(ref, PemRef):
                try:
                    text = read_bounded(ref.pem, limit=MAX_CERT_BYTES).decode("utf-8", errors="replace")
                    cert = CertRef.of(load_certificate(text.encode()))
                except (OSError, CertificateError) as exc:
                    diags.append(_unresolved(f"PEM file {ref.pem}: {exc}", index))
                    continue
                cert_id = ref.name or Path(ref.pem).stem
                item = DesiredCert(
                    cluster=decl.cluster,
                    store=decl.store.value,
                    cert_id=cert_id,
                    cert=cert,
                    origin=f"PEM {ref.pem}",
                    pem=text,
                    mode=decl.mode,
                )
                if item.address not in seen:
                    seen.add(item.address)
                    out.append(item)
                continue
            owner = facts.get(ref.cluster)
            if owner is None:
                diags.append(_unresolved(f"cluster {ref.cluster} was not read", index))
                continue
            for node in _nodes(ref, owner, state):
                found, cert_id, origin = _identity_cert(ref, node, owner, pems.get(ref.cluster, {}))
                if found is None:
                    diags.append(_unresolved(f"{origin}: certificate not found on the live cluster", index))
                    continue
                item = DesiredCert(
                    cluster=decl.cluster,
                    store=decl.store.value,
                    cert_id=cert_id,
                    cert=found,
                    origin=origin,
                    pem=pems.get(ref.cluster, {}).get((node, ref.identity.value)),
                    mode=decl.mode,
                )
                if item.address not in seen:
                    seen.add(item.address)
                    out.append(item)
    return out, diags


def _unresolved(what: str, index: int) -> Diagnostic:
    return Diagnostic(
        severity=Severity.ERROR,
        rule="ref",
        summary=f"cannot resolve a declared certificate: {what}",
        address=f"trust[{index}]",
        fix="check the reference and that the cluster's certificates are readable",
    )


def format_param(value: object) -> str:
    """CUCM's text form of a parameter value (``True``/``False`` for booleans)."""
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)


def desired_parameters(state: DesiredState) -> dict[str, dict[str, str]]:
    """cluster -> parameter name -> desired value (CUCM text form). R2's parameter by its GUI name."""
    out: dict[str, dict[str, str]] = {}
    for cluster, params in state.parameters.items():
        values = {k: format_param(v) for k, v in params.enterprise.items()}
        rollback = params.rollback_value()
        if rollback is not None:
            values[ROLLBACK_PARAMETER] = format_param(rollback)
        if values:
            out[cluster] = values
    return out


def desired_option150(state: DesiredState) -> dict[str, tuple[str, ...]]:
    """scope name -> desired option 150 addresses (``tftp_nodes_of`` resolved, declaration order)."""
    out: dict[str, tuple[str, ...]] = {}
    for scope in state.dhcp.scopes:
        value = scope.option150
        if isinstance(value, TftpNodesOf):
            cluster = state.cluster(value.tftp_nodes_of)
            nodes = cluster.nodes_running(Service.TFTP) if cluster else ()
            out[scope.name] = tuple(n.host for n in nodes)
        else:
            out[scope.name] = tuple(str(a) for a in value)
    return out
