"""reconciler.cucm.boot: the one boot sequence (CTL → ITL → configuration) of the forecast and the
scenario tests, and the edge cases where their former copies differed (docs/cucm-domain.md#boot-sequence):

* a node that serves no valid CTL/ITL: the forecast stranded the phone (R1) before any decision, the
  scenario copy raised on the signature check; now both get "not moved, R1, no decision";
* what the phone holds after a rejection: only the scenario copy tracked it; now a CTL accepted before
  its ITL was rejected stays installed, and a rejected file is never installed;
* the configuration's signer: the scenario copy named it ``CN=<node>``, the forecast by the CallManager
  certificate's subject; now always the certificate's subject.
"""

from __future__ import annotations

import pytest

from reconciler.cucm.boot import ServedFiles, boot
from reconciler.cucm.certs import identity_of, subject_of
from reconciler.cucm.facts import CertRef
from reconciler.cucm.tlv import Role
from reconciler.cucm.trust import FileKind, SignedFile, TrustList, TvsCache, TvsServer
from schemas.version import CucmVersion
from tests.cucm_material import identity
from tests.scenarios.two_clusters import Cluster, Node, Phone, served_by

OLD_CM = identity("CallManager", "cucm-old-pub", "old").cert
OLD_TVS = identity("TVS", "cucm-old-pub", "old").cert
NEW_REC = identity("ITLRecovery", "cucm-new-pub", "new").cert
NEW_CM = identity("CallManager", "cucm-new-pub", "new").cert

PHONE_CTL = TrustList.of((OLD_CM, Role.SAST), (OLD_CM, Role.CCM_TFTP))
PHONE_ITL = TrustList.of((OLD_CM, Role.SAST), (OLD_CM, Role.CCM_TFTP), (OLD_TVS, Role.TVS))


def source_tvs(*, sast: tuple[object, ...] = (), cm: tuple[object, ...] = ()) -> tuple[TvsServer, ...]:
    cache = TvsCache.from_stores(
        callmanager_trust=[identity_of(c) for c in cm],  # type: ignore[arg-type]
        phone_sast_trust=[identity_of(c) for c in sast],  # type: ignore[arg-type]
    )
    return (TvsServer(name="cucm-old-pub", certificate=identity_of(OLD_TVS), cache=cache),)


def signed(kind: FileKind, cert: object) -> SignedFile:
    return SignedFile(kind=kind, signer=identity_of(cert), signer_subject=subject_of(cert))  # type: ignore[arg-type]


def test_the_sequence_is_ctl_then_itl_then_configuration_each_judged_by_the_lists_held_then() -> None:
    """R4–R8 in place: TVS vouches for the CTL; the ITL then verifies against the *new* CTL and the
    configuration against the new CTL/ITL, without asking TVS."""
    new_ctl = TrustList.of((NEW_REC, Role.SAST), (NEW_CM, Role.CCM_TFTP))
    new_itl = TrustList.of((NEW_REC, Role.SAST), (NEW_CM, Role.CCM_TFTP))
    served = ServedFiles(
        ctl=signed(FileKind.CTL, NEW_REC),
        itl=signed(FileKind.ITL, NEW_REC),
        config=signed(FileKind.CONFIG, NEW_CM),
        ctl_list=new_ctl,
        itl_list=new_itl,
    )
    result = boot(ctl=PHONE_CTL, itl=PHONE_ITL, tvs_servers=source_tvs(sast=(NEW_REC,)), served=served)
    assert result.moved and result.rule is None
    assert [d.path for d in result.decisions] == [
        "vouched by TVS cucm-old-pub with roles SAST",
        "signer in CTL",
        "signer in CTL",
    ]
    assert (result.ctl, result.itl) == (new_ctl, new_itl)


@pytest.mark.parametrize(
    ("ctl_valid", "itl_valid", "callmanager_known", "missing"),
    [
        (False, True, True, (FileKind.CTL,)),
        (True, False, True, (FileKind.ITL,)),
        (True, True, False, (FileKind.CONFIG,)),
    ],
)
def test_a_node_without_a_valid_file_moves_no_phone_and_takes_no_decision(
    ctl_valid: bool, itl_valid: bool, callmanager_known: bool, missing: tuple[FileKind, ...]
) -> None:
    """R1: the phone installs nothing from a node that serves no valid CTL/ITL (or whose configuration
    signer is unknown); it keeps what it had. The scenario copy raised here, the forecast stranded."""
    target = Cluster(
        name="new", version=CucmVersion("14.0.1.11900-132"), nodes=[Node("cucm-new-pub", publisher=True)]
    )
    real = served_by(target, "cucm-new-pub")
    served = ServedFiles(
        ctl=real.ctl if ctl_valid else None,
        itl=real.itl if itl_valid else None,
        config=real.config if callmanager_known else None,
        ctl_list=real.ctl_list,
        itl_list=real.itl_list,
    )
    result = boot(ctl=PHONE_CTL, itl=PHONE_ITL, tvs_servers=source_tvs(sast=(NEW_REC,)), served=served)
    assert not result.moved
    assert result.rule == "R1" and result.missing == missing and result.decisions == ()
    assert (result.ctl, result.itl) == (PHONE_CTL, PHONE_ITL)


def test_a_badly_signed_file_counts_as_not_served() -> None:
    """The scenario world hands a file that fails its signature check to the boot as not valid."""
    target = Cluster(
        name="new", version=CucmVersion("14.0.1.11900-132"), nodes=[Node("cucm-new-pub", publisher=True)]
    )
    good = target.ctl()
    target.ctl = lambda: good[:-1] + bytes([good[-1] ^ 0xFF])  # type: ignore[method-assign]
    served = served_by(target, "cucm-new-pub")
    assert served.ctl is None and served.missing == (FileKind.CTL,)


def test_a_ctl_accepted_before_its_itl_was_rejected_stays_installed() -> None:
    """A rejected file is not installed; files accepted before it stay (the scenario copy's rule, now the
    domain's): the phone ends with the new CTL and its old ITL."""
    new_ctl = TrustList.of((NEW_REC, Role.SAST))  # the ITL's signer is in neither list, nor known to TVS
    served = ServedFiles(
        ctl=signed(FileKind.CTL, NEW_REC),
        itl=signed(FileKind.ITL, NEW_CM),
        config=signed(FileKind.CONFIG, NEW_CM),
        ctl_list=new_ctl,
        itl_list=TrustList.of((NEW_CM, Role.SAST)),
    )
    result = boot(ctl=PHONE_CTL, itl=PHONE_ITL, tvs_servers=source_tvs(sast=(NEW_REC,)), served=served)
    assert not result.moved and len(result.decisions) == 2
    assert result.decisions[0].accepted and not result.decisions[1].accepted
    assert result.rule == "R4"
    assert (result.ctl, result.itl) == (new_ctl, PHONE_ITL)


def test_a_rejected_ctl_leaves_the_phone_as_it_was() -> None:
    served = ServedFiles(
        ctl=signed(FileKind.CTL, NEW_REC),
        itl=signed(FileKind.ITL, NEW_REC),
        config=signed(FileKind.CONFIG, NEW_CM),
        ctl_list=TrustList.of((NEW_REC, Role.SAST)),
        itl_list=TrustList.of((NEW_REC, Role.SAST)),
    )
    result = boot(ctl=PHONE_CTL, itl=PHONE_ITL, tvs_servers=source_tvs(), served=served)
    assert not result.moved and len(result.decisions) == 1 and result.rule == "R6"
    assert (result.ctl, result.itl) == (PHONE_CTL, PHONE_ITL)


def test_the_configuration_is_signed_by_the_nodes_callmanager_named_by_its_subject() -> None:
    """docs/cucm-domain.md#who-signs-what: a rejected configuration names the CallManager certificate's
    full subject (the scenario copy wrote ``CN=<node>``)."""
    served = ServedFiles.of(ctl=None, itl=None, callmanager=CertRef.of(NEW_CM))
    assert served.config is not None
    assert served.config.signer == identity_of(NEW_CM)
    assert served.config.signer_subject == subject_of(NEW_CM) != "CN=cucm-new-pub"
    # the CTL and ITL verify, the configuration's signer is in neither new list and unknown to TVS
    real = ServedFiles(
        ctl=signed(FileKind.CTL, NEW_REC),
        itl=signed(FileKind.ITL, NEW_REC),
        config=served.config,
        ctl_list=TrustList.of((NEW_REC, Role.SAST)),
        itl_list=TrustList.of((NEW_REC, Role.SAST)),
    )
    result = boot(ctl=PHONE_CTL, itl=PHONE_ITL, tvs_servers=source_tvs(sast=(NEW_REC,)), served=real)
    assert not result.moved and len(result.decisions) == 3 and not result.decisions[2].accepted
    assert f"config signer {subject_of(NEW_CM)} serial" in result.decisions[2].reason


def test_real_signed_files_of_the_own_cluster_verify_locally() -> None:
    """A phone of the scenario world booting on its own cluster's real files accepts each locally."""
    source = Cluster(
        name="old", version=CucmVersion("11.5.1.12900-21"), nodes=[Node("cucm-old-pub", publisher=True)]
    )
    phone = Phone.registered_on(source, tftp="cucm-old-pub")
    result = boot(
        ctl=phone.ctl,
        itl=phone.itl,
        tvs_servers=source.tvs_servers(["cucm-old-pub"]),
        served=served_by(source, "cucm-old-pub"),
    )
    assert result.moved and all(d.path and d.path.startswith("signer in") for d in result.decisions)
