"""reconciler.cucm.trust: the phone's decision over trust lists, TVS caches and policies."""

from __future__ import annotations

import dataclasses

from reconciler.cucm import tlv
from reconciler.cucm.certs import identity_of
from reconciler.cucm.tlv import Role
from reconciler.cucm.trust import (
    AcceptRule,
    FileKind,
    SignedFile,
    SignerKind,
    TrustList,
    TvsCache,
    TvsServer,
    decide,
    expected_signer,
    signer_kind,
)
from schemas.version import CucmVersion
from tests.cucm_material import identity

OLD_CM = identity("CallManager", "cucm-old-pub", "old").cert
OLD_TVS = identity("TVS", "cucm-old-pub", "old").cert
OLD_TVS2 = identity("TVS", "cucm-old-sub1", "old").cert
NEW_REC = identity("ITLRecovery", "cucm-new-pub", "new").cert
NEW_CM = identity("CallManager", "cucm-new-pub", "new").cert

CTL = TrustList.of((OLD_CM, Role.SAST), (OLD_CM, Role.CCM_TFTP))
ITL = TrustList.of((OLD_CM, Role.SAST), (OLD_CM, Role.CCM_TFTP), (OLD_TVS, Role.TVS), (OLD_TVS2, Role.TVS))
NEW_CTL = SignedFile(
    kind=FileKind.CTL, signer=identity_of(NEW_REC), signer_subject="CN=ITLRECOVERY_cucm-new-pub"
)


def tvs(
    name: str,
    cert: object,
    *,
    cm: tuple[object, ...] = (),
    sast: tuple[object, ...] = (),
    reachable: bool = True,
) -> TvsServer:
    cache = TvsCache.from_stores(
        callmanager_trust=[identity_of(c) for c in cm],  # type: ignore[arg-type]
        phone_sast_trust=[identity_of(c) for c in sast],
    )  # type: ignore[arg-type]
    return TvsServer(name=name, certificate=identity_of(cert), cache=cache, reachable=reachable)  # type: ignore[arg-type]


def test_trust_list_from_tlv_merges_roles_and_skips_hash_only_records() -> None:
    records = [
        tlv.record_from_certificate(OLD_CM, role=Role.SAST),
        tlv.record_from_certificate(OLD_CM, role=Role.CCM_TFTP),
        tlv.record_from_certificate(OLD_TVS, role=Role.TVS),
        tlv.TlvRecord(role=Role.TFTP, cert_hash=b"\x01" * 20, hash_algorithm=1),
    ]
    cm = identity("CallManager", "cucm-old-pub", "old")
    data = tlv.build(
        records=records, signer_cert=cm.cert, signer_key=cm.key, filename="ITLFile.tlv", timestamp=1
    )
    trust = TrustList.from_tlv(tlv.parse(data))
    assert len(trust) == 3
    assert trust.roles_of(identity_of(OLD_CM)) == {Role.SAST, Role.CCM_TFTP}
    assert trust.identities_with(Role.TVS) == {identity_of(OLD_TVS)}
    assert identity_of(OLD_TVS) in trust and identity_of(NEW_CM) not in trust
    assert TrustList.empty().is_empty and TrustList.empty() == TrustList()
    assert hash(trust) == hash(TrustList.from_tlv(tlv.parse(data)))


def test_tvs_cache_roles_from_the_two_stores() -> None:
    cache = TvsCache.from_stores(
        callmanager_trust=[identity_of(NEW_CM), identity_of(NEW_REC)], phone_sast_trust=[identity_of(NEW_REC)]
    )
    assert cache.roles_of(identity_of(NEW_CM)) == {Role.TFTP}
    assert cache.roles_of(identity_of(NEW_REC)) == {Role.SAST, Role.TFTP}
    assert cache.roles_of(identity_of(OLD_CM)) == frozenset()


def test_first_use_and_local_paths() -> None:
    empty = TrustList.empty()
    first = decide(ctl=empty, itl=empty, tvs_servers=(), new_file=NEW_CTL)
    assert first.accepted and first.path == "first use"
    own_ctl = SignedFile(kind=FileKind.CTL, signer=identity_of(OLD_CM), signer_subject="CN=cucm-old-pub")
    local = decide(ctl=CTL, itl=ITL, tvs_servers=(), new_file=own_ctl)
    assert local.accepted and local.path == "signer in CTL" and local.roles == {Role.SAST}
    # a CTL signer known only as CCM+TFTP is not enough locally: SAST is needed
    ctl_ccm_only = TrustList.of((OLD_CM, Role.CCM_TFTP))
    itl_no_sast = TrustList.of((OLD_TVS, Role.TVS))
    rejected = decide(ctl=ctl_ccm_only, itl=itl_no_sast, tvs_servers=(tvs("p", OLD_TVS),), new_file=own_ctl)
    assert not rejected.accepted and rejected.rule == "R4"
    config = SignedFile(kind=FileKind.CONFIG, signer=identity_of(OLD_CM))
    in_itl = decide(ctl=TrustList.of((OLD_TVS, Role.TVS)), itl=ITL, tvs_servers=(), new_file=config)
    assert in_itl.accepted and in_itl.path == "signer in ITL" and in_itl.roles == {Role.CCM_TFTP}


def test_tvs_vouches_and_the_policy_decides_which_roles_count() -> None:
    servers = (tvs("cucm-old-pub", OLD_TVS, cm=(NEW_CM,)),)
    new_itl = SignedFile(kind=FileKind.ITL, signer=identity_of(NEW_CM), signer_subject="CN=cucm-new-pub")
    accepted = decide(ctl=CTL, itl=ITL, tvs_servers=servers, new_file=new_itl)
    assert accepted.accepted and accepted.path == "vouched by TVS cucm-old-pub with roles TFTP"
    assert accepted.tvs == "cucm-old-pub"
    from reconciler.cucm.trust import DEFAULT_POLICY

    strict = dataclasses.replace(
        DEFAULT_POLICY, itl=dataclasses.replace(DEFAULT_POLICY.itl, tvs_roles=frozenset({Role.SAST}))
    )
    rejected = decide(ctl=CTL, itl=ITL, tvs_servers=servers, new_file=new_itl, policy=strict)
    assert not rejected.accepted and rejected.rule == "R5"
    assert "only with roles TFTP; a ITL needs SAST" in rejected.reason
    assert isinstance(strict.itl, AcceptRule)


def test_order_of_tvs_servers_and_stop_at_first_answer() -> None:
    ignorant = tvs("cucm-old-pub", OLD_TVS)
    knowing = tvs("cucm-old-sub1", OLD_TVS2, sast=(NEW_REC,), cm=(NEW_REC,))
    first = decide(ctl=CTL, itl=ITL, tvs_servers=(ignorant, knowing), new_file=NEW_CTL)
    assert not first.accepted and first.reason.endswith("(asked: cucm-old-pub)") and first.rule == "R6"
    from reconciler.cucm.trust import DEFAULT_POLICY

    keep_asking = dataclasses.replace(DEFAULT_POLICY, stop_at_first_answer=False)
    second = decide(ctl=CTL, itl=ITL, tvs_servers=(ignorant, knowing), new_file=NEW_CTL, policy=keep_asking)
    assert second.accepted and second.tvs == "cucm-old-sub1"
    down = tvs("cucm-old-pub", OLD_TVS, sast=(NEW_REC,), reachable=False)
    skipped = decide(ctl=CTL, itl=ITL, tvs_servers=(down, knowing), new_file=NEW_CTL)
    assert skipped.accepted and skipped.path == "vouched by TVS cucm-old-sub1 with roles SAST, TFTP"


def test_itl_without_tvs_records() -> None:
    no_tvs = TrustList.of((OLD_CM, Role.SAST), (OLD_CM, Role.CCM_TFTP))
    r1 = decide(ctl=CTL, itl=no_tvs, tvs_servers=(tvs("p", OLD_TVS, sast=(NEW_REC,)),), new_file=NEW_CTL)
    assert not r1.accepted and r1.rule == "R1" and "ITL holds no TVS certificate" in r1.reason
    blank = TrustList.of((OLD_CM, Role.SAST))
    r2 = decide(ctl=CTL, itl=blank, tvs_servers=(tvs("p", OLD_TVS, sast=(NEW_REC,)),), new_file=NEW_CTL)
    assert not r2.accepted and r2.rule == "R2"
    none = decide(ctl=CTL, itl=ITL, tvs_servers=(), new_file=NEW_CTL)
    assert not none.accepted and none.rule == "R3"


def test_decisions_are_memoized_for_equal_inputs() -> None:
    decide.cache_clear()
    args = {"ctl": CTL, "itl": ITL, "new_file": NEW_CTL}
    a = decide(tvs_servers=(tvs("p", OLD_TVS, sast=(NEW_REC,)),), **args)  # type: ignore[arg-type]
    b = decide(tvs_servers=(tvs("p", OLD_TVS, sast=(NEW_REC,)),), **args)  # type: ignore[arg-type]
    assert a == b and a.accepted
    info = decide.cache_info()
    assert info.misses == 1 and info.hits == 1


def test_who_signs_what_by_version() -> None:
    v11, v12, v14 = CucmVersion("11.5.1"), CucmVersion("12.0.1"), CucmVersion("14.0")
    assert signer_kind(v11, FileKind.CTL) is SignerKind.PUBLISHER_CALLMANAGER
    assert signer_kind(v11, FileKind.ITL) is SignerKind.TFTP_CALLMANAGER
    assert signer_kind(v12, FileKind.ITL) is SignerKind.ITLRECOVERY
    assert signer_kind(v14, FileKind.CTL) is SignerKind.ITLRECOVERY
    assert signer_kind(v14, FileKind.CONFIG) is SignerKind.TFTP_CALLMANAGER
    pick = {"itl_recovery": "rec", "tftp_callmanager": "tftp", "publisher_callmanager": "pub"}
    assert [
        expected_signer(v, k, **pick)
        for v, k in ((v11, FileKind.CTL), (v11, FileKind.ITL), (v14, FileKind.CTL))
    ] == ["pub", "tftp", "rec"]
