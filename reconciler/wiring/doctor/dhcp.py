"""The doctor's checks of one DHCP server, through the backends ``plan`` and ``apply`` use (all reads).

Called by ``reconciler.wiring.doctor.run_doctor``. IOS: the SSH host key, the login, the prompt and
``show privilege`` (changing a pool needs configuration mode: level 15), then every declared pool found
with its option 150. CUCM DHCP: through AXL on the declared node, every declared subnet found. Kea:
the control agent answers ``version-get`` and ``config-get``, every declared subnet found. A declared
scope the server does not have is a failure (the plan could not set its option 150, R12).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path

from providers.dhcp.base import DhcpScope
from providers.dhcp.ios import IosDhcpBackend
from providers.dhcp.kea import KeaDhcpBackend
from providers.transports.ssh import SshTarget
from reconciler.config.secrets import resolve
from reconciler.errors import ReconcilerError
from reconciler.wiring.connections import Connections
from reconciler.wiring.doctor.probes import ssh_host_key
from reconciler.wiring.doctor.runner import Doctor, Verdict
from schemas.dhcp import DhcpScope as DeclaredScope
from schemas.dhcp import IosDhcpServer, KeaDhcpServer
from schemas.document import DesiredState

__all__ = ["check_dhcp_server"]


def _scopes_found(found: Sequence[DhcpScope], declared: Sequence[DeclaredScope]) -> Verdict:
    missing: list[str] = []
    shown: list[str] = []
    for scope in declared:
        key = scope.pool or str(scope.subnet)
        hit = next((s for s in found if s.matches(key) or s.subnet == scope.subnet), None)
        if hit is None:
            missing.append(f"{scope.name} ({key})")
        else:
            shown.append(f"{scope.name}: option 150 {' '.join(map(str, hit.option150)) or 'unset'}")
    detail = f"{len(found)} scope(s) on the server; " + ("; ".join(shown) or "none declared")
    if missing:
        return Verdict(
            status="fail",
            detail=f"{detail}; not found: {', '.join(missing)}",
            fix="fix dhcp.scopes[].pool / subnet to name the server's scope (R12 needs each one)",
        )
    return Verdict(status="pass", detail=detail)


def check_dhcp_server(doc: Doctor, desired: DesiredState, conns: Connections, name: str) -> None:
    decl = next(s for s in desired.dhcp.servers if s.name == name)
    declared = [s for s in desired.dhcp.scopes if s.server == name]
    ep = f"dhcp/{name}"
    if isinstance(decl, IosDhcpServer):
        with contextlib.suppress(ReconcilerError):
            doc.secrets.append(resolve(decl.credentials.password).get_secret_value())
        target = SshTarget(
            name=decl.name,
            host=str(decl.host),
            port=int(decl.port),
            username=decl.credentials.username,
            password=decl.credentials.password,
            known_hosts=Path(decl.known_hosts) if decl.known_hosts is not None else None,
            host_key=decl.host_key,
        )
        if (
            doc.run(
                endpoint=ep, check="ssh.hostkey", body=lambda: ssh_host_key(verifier=target.verifier())
            ).status
            == "fail"
        ):
            return
        with IosDhcpBackend(name=decl.name, target=target, read_timeout=30.0) as ios:

            def privilege() -> Verdict:
                prompt, level = ios.privilege()
                if level is None:
                    doc.capture(endpoint=ep, what="show privilege", text=f"prompt {prompt!r}")
                    return Verdict(
                        status="warn",
                        detail=f"prompt {prompt!r}; privilege level not recognised",
                        fix="attach the support bundle; the user needs privilege 15",
                    )
                if level < 15:
                    return Verdict(
                        status="fail",
                        detail=f"prompt {prompt!r}; privilege level {level}",
                        fix="give the user privilege 15 ('username ... privilege 15') or set "
                        "enable_password: option 150 is changed in configuration mode",
                    )
                return Verdict(
                    status="pass", detail=f"login works; prompt {prompt!r}; privilege level {level}"
                )

            if doc.run(endpoint=ep, check="ios.privilege", body=privilege, role="IOS").status != "fail":
                doc.run(endpoint=ep, check="scopes", body=lambda: _scopes_found(ios.list_scopes(), declared))
        return
    if isinstance(decl, KeaDhcpServer):
        if decl.credentials is not None:
            with contextlib.suppress(ReconcilerError):
                doc.secrets.append(resolve(decl.credentials.password).get_secret_value())
        backend = conns.dhcp(name)

        def agent() -> str:
            assert isinstance(backend, KeaDhcpBackend)
            answer = backend.command("version-get")
            version = str(answer.get("text", "")).strip()
            doc.report.versions[ep] = version
            return f"control agent {decl.url} answers; Kea {version}"

        if doc.run(endpoint=ep, check="kea.agent", body=agent).status != "fail":
            doc.run(endpoint=ep, check="scopes", body=lambda: _scopes_found(backend.list_scopes(), declared))
        return
    # CUCM DHCP: the cluster's AXL credentials (checked with the cluster)
    doc.run(
        endpoint=ep,
        check="scopes",
        body=lambda: _scopes_found(conns.dhcp(name).list_scopes(), declared),
        role="AXL",
    )
