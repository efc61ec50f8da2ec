"""The lab phone's judgement of one downloaded file, written from the phone's side.

Source: the tables of docs/cucm-domain.md#trust-model ("who signs what", "what a phone accepts", "what
TVS knows", first use) and the seed's log sequence (docs/simulator.md#the-lab-phone). It shares no code
with ``reconciler.cucm.trust``: the point of the lab is that it can contradict the planner.

A phone that downloaded a file (CTL, ITL or its signed configuration):

1. holding neither CTL nor ITL accepts it when ``TrustKnobs.first_use`` (trust on first use);
2. looks for the header's signer (serial + issuer) among the records of its current CTL and ITL with a
   role that may sign that kind of file, and checks the file's RSA signature with that record's
   certificate — a record that matches but whose key does not verify is a rejection;
3. otherwise contacts the TVS servers of its CallManager group in order: the TLS certificate a server
   presents must be a TVS record of the phone's ITL (else it skips the server); it sends the signer's
   serial and issuer and gets roles (and the certificate) back. Roles that vouch for the file's kind →
   the signature is checked with the returned certificate. A negative answer ends the search unless
   ``TrustKnobs.ask_next_tvs``. With ``tvs_answer_cache_s`` > 0 it reuses an earlier answer for the same
   signer instead of asking.

The outcome names *what the phone saw* (``Failure``); the lab (``simulator.model.boot``) maps it to the
procedure rule for RisPort70's reason. Called by ``simulator.model.boot``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from ..knobs import TrustKnobs
from .labtlv import LabRecord, LabRole, LabTlvFile

__all__ = ["Failure", "FileUnderTest", "PhoneTrust", "TvsAnswer", "TvsContact", "Verdict", "judge"]

SignerKey = tuple[bytes, str]
_R = LabRole

# What a phone accepts (docs/cucm-domain.md#what-a-phone-accepts): kind -> (CTL roles, ITL roles, TVS roles)
ACCEPTS: Mapping[str, tuple[frozenset[int], frozenset[int], frozenset[int]]] = {
    "CTL": (frozenset({_R.SAST}), frozenset({_R.SAST}), frozenset({_R.SAST})),
    "ITL": (frozenset({_R.SAST, _R.CCM_TFTP, _R.TFTP}), frozenset({_R.SAST}), frozenset({_R.SAST, _R.TFTP})),
    "config": (
        frozenset({_R.CCM_TFTP, _R.TFTP}),
        frozenset({_R.CCM_TFTP, _R.TFTP}),
        frozenset({_R.TFTP, _R.CCM}),
    ),
}


class Failure(enum.StrEnum):
    NONE = ""
    BAD_SIGNATURE = "bad-signature"
    NO_TVS_IN_ITL = "no-tvs-in-itl"
    NO_TVS_SERVER = "no-tvs-server"
    TVS_UNREACHABLE = "tvs-unreachable"
    TVS_NOT_PINNED = "tvs-not-pinned"
    TVS_WRONG_ROLE = "tvs-wrong-role"
    TVS_UNKNOWN = "tvs-unknown"


@dataclass(frozen=True, slots=True)
class PhoneTrust:
    """The CTL and ITL a phone holds (parsed), or None."""

    ctl: LabTlvFile | None
    itl: LabTlvFile | None

    def records(self, which: str) -> tuple[LabRecord, ...]:
        held = self.ctl if which == "CTL" else self.itl
        return held.records if held is not None else ()


@dataclass(frozen=True, slots=True, kw_only=True)
class FileUnderTest:
    """A downloaded file: its kind, header signer and a signature check by certificate (DER)."""

    kind: str  # "CTL" | "ITL" | "config"
    signer: SignerKey
    signer_name: str
    verifies: Callable[[bytes], bool] = field(compare=False)


@dataclass(frozen=True, slots=True)
class TvsAnswer:
    """What a TVS said about a signer: its roles (empty: unknown) and the certificate it holds."""

    roles: frozenset[int]
    certificate: bytes = b""


class TvsContact:
    """One TVS server of the phone's group, as the phone can reach it (a TLS face, or the model)."""

    name: str

    def presented(self) -> SignerKey | None:
        """Serial and issuer of the certificate the server presents in the TLS handshake; None when the
        connection fails."""
        raise NotImplementedError

    def query(self, signer: SignerKey) -> TvsAnswer | None:
        """The answer for ``signer`` (None: the connection broke)."""
        raise NotImplementedError


@dataclass(frozen=True, slots=True, kw_only=True)
class Verdict:
    accepted: bool
    how: str  # "first use", "signer in CTL", "vouched by TVS x", or "" when rejected
    reason: str  # what the phone logs
    failure: Failure = Failure.NONE
    tvs: str | None = None  # the server that answered last
    roles: frozenset[int] = frozenset()
    learned: tuple[SignerKey, TvsAnswer] | None = None  # a fresh TVS answer the phone may cache
    signer: SignerKey = (b"", "")
    signer_name: str = ""


def _names(roles: frozenset[int]) -> str:
    return (
        ", ".join(LabRole(r).name if r in LabRole._value2member_map_ else str(r) for r in sorted(roles))
        or "none"
    )


def judge(
    *,
    phone: PhoneTrust,
    new: FileUnderTest,
    tvs: Sequence[TvsContact],
    knobs: TrustKnobs,
    remembered: Mapping[SignerKey, TvsAnswer] | None = None,
) -> Verdict:
    """Does the phone accept ``new``? ``remembered``: TVS answers the phone still caches."""
    verdict = _judge(phone=phone, new=new, tvs=tvs, knobs=knobs, remembered=remembered)
    return replace(verdict, signer=new.signer, signer_name=new.signer_name)


def _judge(
    *,
    phone: PhoneTrust,
    new: FileUnderTest,
    tvs: Sequence[TvsContact],
    knobs: TrustKnobs,
    remembered: Mapping[SignerKey, TvsAnswer] | None = None,
) -> Verdict:
    what = f"{new.kind} signed by {new.signer_name or new.signer[1]} (serial {new.signer[0].hex()})"
    if phone.ctl is None and phone.itl is None and knobs.first_use:
        return Verdict(accepted=True, how="first use", reason=f"no CTL or ITL held: accepting the {what}")
    ctl_roles, itl_roles, tvs_roles = ACCEPTS[new.kind]
    for which, wanted in (("CTL", ctl_roles), ("ITL", itl_roles)):
        for record in phone.records(which):
            if record.key == new.signer and record.role in wanted:
                if new.verifies(record.certificate):
                    return Verdict(
                        accepted=True,
                        how=f"signer in {which}",
                        reason=f"{what}: signer is a {record.label} record of the {which}",
                    )
                return Verdict(
                    accepted=False,
                    how="",
                    failure=Failure.BAD_SIGNATURE,
                    reason=f"{what}: signature does not verify with the {which} record's key",
                )
    if remembered and new.signer in remembered:
        return _conclude(what, tvs_roles, new, remembered[new.signer], server="(cached answer)")
    pinned = {r.key for r in phone.records("ITL") if r.role == LabRole.TVS}
    if not pinned:
        return Verdict(
            accepted=False,
            how="",
            failure=Failure.NO_TVS_IN_ITL,
            reason=f"{what}: signer unknown and the ITL holds no TVS certificate to ask",
        )
    if not tvs:
        return Verdict(
            accepted=False,
            how="",
            failure=Failure.NO_TVS_SERVER,
            reason=f"{what}: signer unknown and no TVS server in the CallManager group",
        )
    skipped: list[str] = []
    pin_failed = False
    first_no: Verdict | None = None
    for server in tvs:
        presented = server.presented()
        if presented is None:
            skipped.append(f"TVS {server.name} unreachable (port 2445)")
            continue
        if presented not in pinned:
            pin_failed = True
            skipped.append(f"TVS {server.name} certificate not in the ITL")
            continue
        answer = server.query(new.signer)
        if answer is None:
            skipped.append(f"TVS {server.name} closed the connection")
            continue
        verdict = _conclude(what, tvs_roles, new, answer, server=server.name)
        if verdict.accepted:
            return verdict
        first_no = first_no or verdict
        if not knobs.ask_next_tvs:
            return verdict
    if first_no is not None:
        return first_no
    failure = Failure.TVS_NOT_PINNED if pin_failed else Failure.TVS_UNREACHABLE
    return Verdict(accepted=False, how="", failure=failure, reason=f"{what}: " + "; ".join(skipped))


def _conclude(
    what: str, wanted: frozenset[int], new: FileUnderTest, answer: TvsAnswer, *, server: str
) -> Verdict:
    learned = (new.signer, answer)
    held = answer.roles & wanted
    if held and answer.certificate and new.verifies(answer.certificate):
        return Verdict(
            accepted=True,
            how=f"vouched by TVS {server}",
            tvs=server,
            roles=answer.roles,
            learned=learned,
            reason=f"{what}: TVS {server} returned roles {_names(answer.roles)}",
        )
    if held:
        return Verdict(
            accepted=False,
            how="",
            failure=Failure.BAD_SIGNATURE,
            tvs=server,
            learned=learned,
            reason=f"{what}: signature does not verify with the certificate TVS {server} returned",
        )
    if answer.roles:
        return Verdict(
            accepted=False,
            how="",
            failure=Failure.TVS_WRONG_ROLE,
            tvs=server,
            roles=answer.roles,
            learned=learned,
            reason=f"{what}: TVS {server} returned roles {_names(answer.roles)}, "
            f"a {new.kind} needs {_names(wanted)}",
        )
    return Verdict(
        accepted=False,
        how="",
        failure=Failure.TVS_UNKNOWN,
        tvs=server,
        learned=learned,
        reason=f"{what}: TVS {server} does not know the signer",
    )
