"""The lab's trust knobs: every point of the phone/TVS model that no source settles, as a setting.

The defaults are the model the planner's forecast assumes (docs/cucm-domain.md#uncertain-points), so a
default lab agrees with the forecast; a test flips one knob to make the lab disagree on purpose and shows
that the tool notices (the pilot wave's gate fails with the phones' own reasons). ``TrustKnobs`` is a field
of ``simulator.spec.LabSpec`` (``trust``); read by ``simulator.model.phonetrust`` (the phone),
``simulator.model.tvs`` (store → role) and ``simulator.model.identities`` (ITLRecovery scope).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CCM_ROLE", "DEFAULT_KNOBS", "TFTP_ROLE", "TrustKnobs"]

TFTP_ROLE = 3
CCM_ROLE = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class TrustKnobs:
    """``first_use``: a phone holding neither CTL nor ITL accepts the first files it gets.
    ``callmanager_trust_role``: the role TVS answers for a certificate of CallManager-trust (3 TFTP or 1
    CCM; Phone-SAST-trust is always SAST 0). ``ask_next_tvs``: after a TVS answers "unknown / wrong role",
    the phone asks the next TVS of its group (False: the first answer decides).
    ``itl_recovery_cluster_wide_from``: the first version whose ITLRecovery is one certificate for the
    cluster (before it, one per node).
    ``tvs_answer_cache_s``: how long a phone reuses a TVS answer for the same signer (0: it asks every
    time; the seed's phone log says 24 hours)."""

    first_use: bool = True
    callmanager_trust_role: int = TFTP_ROLE
    ask_next_tvs: bool = False
    itl_recovery_cluster_wide_from: tuple[int, int] = (12, 5)
    tvs_answer_cache_s: float = 0.0

    def __post_init__(self) -> None:
        if self.callmanager_trust_role not in (TFTP_ROLE, CCM_ROLE):
            raise ValueError("callmanager_trust_role must be 3 (TFTP) or 1 (CCM)")
        if self.tvs_answer_cache_s < 0:
            raise ValueError("tvs_answer_cache_s must not be negative")


DEFAULT_KNOBS = TrustKnobs()
