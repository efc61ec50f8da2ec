"""The phone's boot sequence after option 150 changed: CTL, then ITL, then configuration.

One implementation of docs/cucm-domain.md#boot-sequence, used by the planner's forecast
(``reconciler.plan.forecast``) and by the procedure scenario tests. Each file goes through
``reconciler.cucm.trust.decide``; the sequence stops at the first rejection. (The simulator's phones are
the other side of the wire and keep their own implementation.)

Edge cases, decided here once:

* **A file the TFTP node does not validly serve.** When the node serves no CTL or ITL that parses and
  verifies, or the configuration's signer (the node's CallManager certificate) is not known, the phone
  installs nothing and stays where it was: not moved, rule R1, no decision taken
  (``BootResult.missing`` names what was missing).
* **What the phone holds afterwards.** A rejected file is not installed and the phone keeps what it had;
  files accepted before the rejection stay installed (a CTL accepted before its ITL was rejected stays
  on the phone). ``BootResult.ctl``/``itl`` are the lists the phone holds after the boot.
* **Who signs the configuration.** The TFTP node's CallManager certificate, named by its full subject
  (docs/cucm-domain.md#who-signs-what), so a rejection names the certificate as the phone would see it.
* **Which lists judge which file.** The CTL is judged by the phone's current CTL and ITL; the ITL by the
  CTL the phone holds after the CTL step and its current ITL; the configuration by the lists it holds
  after the ITL step.

Public API::

    ServedFiles(ctl, ctl_list, itl, itl_list, config)   what one TFTP node serves; ServedFiles.of(...)
    BootResult(decisions, ctl, itl, missing)             .moved .last .rule .reason
    boot(*, ctl, itl, tvs_servers, served) -> BootResult
"""

from __future__ import annotations

from dataclasses import dataclass, field

from reconciler.cucm.facts import CertRef
from reconciler.cucm.tlv_format import TlvFile
from reconciler.cucm.trust import Decision, FileKind, SignedFile, TrustList, TvsServer, decide

__all__ = ["BootResult", "ServedFiles", "boot"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ServedFiles:
    """What one TFTP node serves, as the phone's decision sees it. ``ctl``/``itl`` are ``None`` when the
    node serves no valid one (missing, unreadable, malformed or badly signed); ``config`` is ``None``
    when the signer of its configuration files is not known. The lists are the files' entries."""

    ctl: SignedFile | None
    itl: SignedFile | None
    config: SignedFile | None
    ctl_list: TrustList = field(default_factory=TrustList.empty)
    itl_list: TrustList = field(default_factory=TrustList.empty)

    @classmethod
    def of(cls, *, ctl: TlvFile | None, itl: TlvFile | None, callmanager: CertRef | None) -> ServedFiles:
        """From the node's parsed and *verified* CTL and ITL (``None``: not valid) and its CallManager
        certificate (``None``: not known), which signs the configuration files."""
        return cls(
            ctl=SignedFile.from_tlv(ctl, kind=FileKind.CTL) if ctl is not None else None,
            itl=SignedFile.from_tlv(itl, kind=FileKind.ITL) if itl is not None else None,
            config=(
                SignedFile(
                    kind=FileKind.CONFIG, signer=callmanager.identity, signer_subject=callmanager.subject
                )
                if callmanager is not None
                else None
            ),
            ctl_list=TrustList.from_tlv(ctl) if ctl is not None else TrustList.empty(),
            itl_list=TrustList.from_tlv(itl) if itl is not None else TrustList.empty(),
        )

    @property
    def missing(self) -> tuple[FileKind, ...]:
        """The files the phone cannot get from this node."""
        return tuple(
            kind
            for kind, file in (
                (FileKind.CTL, self.ctl),
                (FileKind.ITL, self.itl),
                (FileKind.CONFIG, self.config),
            )
            if file is None
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class BootResult:
    """The decisions taken, in order (CTL, ITL, configuration; fewer when one was rejected), the lists
    the phone holds afterwards, and the files the node could not serve (then no decision was taken)."""

    decisions: tuple[Decision, ...]
    ctl: TrustList
    itl: TrustList
    missing: tuple[FileKind, ...] = ()

    @property
    def moved(self) -> bool:
        """All three files accepted: the phone runs the new configuration and registers there."""
        return len(self.decisions) == 3 and all(d.accepted for d in self.decisions)

    @property
    def last(self) -> Decision | None:
        return self.decisions[-1] if self.decisions else None

    @property
    def rule(self) -> str | None:
        """The rule a failed boot points at (R1 when a file was missing); ``None`` when it moved."""
        if self.moved:
            return None
        if self.missing:
            return "R1"
        last = self.last
        return last.rule if last is not None else None


def boot(
    *, ctl: TrustList, itl: TrustList, tvs_servers: tuple[TvsServer, ...], served: ServedFiles
) -> BootResult:
    """The boot of a phone holding ``ctl`` and ``itl`` whose option 150 now names the TFTP node serving
    ``served``; ``tvs_servers`` are the TVS servers of its current CallManager group, in order."""
    if served.ctl is None or served.itl is None or served.config is None:
        return BootResult(decisions=(), ctl=ctl, itl=itl, missing=served.missing)
    first = decide(ctl=ctl, itl=itl, tvs_servers=tvs_servers, new_file=served.ctl)
    if not first.accepted:
        return BootResult(decisions=(first,), ctl=ctl, itl=itl)
    second = decide(ctl=served.ctl_list, itl=itl, tvs_servers=tvs_servers, new_file=served.itl)
    if not second.accepted:
        return BootResult(decisions=(first, second), ctl=served.ctl_list, itl=itl)
    third = decide(ctl=served.ctl_list, itl=served.itl_list, tvs_servers=tvs_servers, new_file=served.config)
    return BootResult(decisions=(first, second, third), ctl=served.ctl_list, itl=served.itl_list)
