"""The TVS face over real TLS (docs/simulator.md#the-tvs-face): a lab node's TVS on a leased loopback
address, queried by a real TLS client with the lab protocol (serial + issuer → roles and certificate).

The backend is the lab model's own TVS (``ModelTvsBackend``): it answers from the cache loaded at the
service's last start (R8), closes connections while the service is stopped, and presents the node's TVS
certificate, which the lab phone pins against its ITL. The last test lets the lab phone judge the target's
CTL with the source's TVS reached only over the wire.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from reconciler.cucm import certs
from reconciler.cucm.certs import IdentityKind
from simulator.adapters.tvs import ModelTvsBackend, WireTvs
from simulator.faces.tls import ServerIdentity, server_context
from simulator.faces.tvs import TvsFaceServer, tvs_query
from simulator.knobs import DEFAULT_KNOBS
from simulator.model import Lab
from simulator.model import playbook as pb
from simulator.model.boot import file_under_test
from simulator.model.build import build_lab
from simulator.model.clock import ManualClock
from simulator.model.labtlv import read
from simulator.model.phonetrust import Failure, PhoneTrust, judge
from simulator.model.services import TVS, ServiceAction
from simulator.model.tvs import key_of
from simulator.spec import default_lab
from tests.loopback import Loopback

pytestmark = pytest.mark.lab
SOURCE, NODE = "old", "cucm-old-sub1"


@dataclass
class Served:
    lab: Lab
    face: TvsFaceServer

    def contact(self) -> WireTvs:
        return WireTvs(name=NODE, host=self.face.host, port=self.face.port)


@pytest.fixture
def served(loopback: Loopback) -> Iterator[Served]:
    lab = build_lab(default_lab(phones_per_scope=1), clock=ManualClock())
    tvs = lab.identity(SOURCE, NODE, IdentityKind.TVS)
    assert tvs is not None
    context = server_context(ServerIdentity(certs.certificate_pem(tvs.cert), certs.private_key_pem(tvs.key)))
    with loopback.lease() as lease:
        face = TvsFaceServer(
            name="tvs", host=lease.ip(10, 2), port=0, context=context,
            backend=ModelTvsBackend(lab, cluster=SOURCE, node=NODE),
        )  # fmt: skip
        with face:
            yield Served(lab, face)


def _recovery(lab: Lab) -> certs.IssuedCert:
    issued = lab.identity("new", "cucm-new-pub", IdentityKind.ITLRECOVERY)
    assert issued is not None
    return issued


def test_the_face_presents_the_node_tvs_certificate_and_answers_from_its_cache(served: Served) -> None:
    lab = served.lab
    tvs = lab.identity(SOURCE, NODE, IdentityKind.TVS)
    assert tvs is not None
    contact = served.contact()
    assert contact.presented() == key_of(tvs.cert)  # what the phone pins against its ITL

    recovery = _recovery(lab).cert
    assert contact.query(key_of(recovery)).roles == frozenset()  # not in the stores: unknown

    pb.establish_trust(lab, source=SOURCE, target="new")
    pb.wait(lab, 120)
    answer = contact.query(key_of(recovery))
    assert answer is not None and answer.roles == frozenset()  # stores changed, TVS not restarted (R8)

    pb.restart_tvs_everywhere(lab, cluster=SOURCE)
    answer = contact.query(key_of(recovery))
    assert answer is not None
    assert answer.roles == frozenset({0, 3})  # Phone-SAST-trust → SAST, CallManager-trust → TFTP
    assert answer.certificate == recovery.public_bytes(Encoding.DER)


def test_a_phone_pins_and_asks_all_its_queries_over_one_connection(served: Served) -> None:
    lab = served.lab
    pb.establish_trust(lab, source=SOURCE, target="new")
    pb.wait(lab, 120)
    pb.restart_tvs_everywhere(lab, cluster=SOURCE)
    tvs = lab.identity(SOURCE, NODE, IdentityKind.TVS)
    assert tvs is not None
    contact = served.contact()
    recovery = _recovery(lab).cert
    assert contact.presented() == key_of(tvs.cert)  # the handshake: pinned against the ITL
    first = contact.query(key_of(recovery))
    assert contact.presented() == key_of(tvs.cert)  # the next file of the boot: same connection
    unknown = contact.query((b"\x01", "CN=nobody"))
    again = contact.query(key_of(recovery))
    assert first is not None and first.roles == frozenset({0, 3})
    assert unknown is not None and unknown.roles == frozenset()
    assert again == first
    assert served.face.handshakes == 1 and contact.connections == 1
    contact.close()

    contact.presented()  # a new boot opens a new connection
    assert contact.query(key_of(recovery)) == first and served.face.handshakes == 2
    lab.control_service(cluster=SOURCE, node=NODE, name=TVS, action=ServiceAction.STOP)
    pb.wait(lab, 30)
    assert contact.query(key_of(recovery)) is None  # stopped while connected: the connection drops
    assert contact.query(key_of(recovery)) is None  # a broken connection is not silently replaced
    assert contact.presented() is None and served.face.handshakes == 2  # and the stopped TVS is unreachable
    contact.close()


def test_a_stopped_tvs_closes_before_the_handshake(served: Served) -> None:
    served.lab.control_service(cluster=SOURCE, node=NODE, name=TVS, action=ServiceAction.STOP)
    pb.wait(served.lab, 30)
    assert served.contact().presented() is None
    assert tvs_query(host=served.face.host, port=served.face.port, serial=b"\x01", issuer="x") is None


def test_a_malformed_request_gets_no_roles(served: Served) -> None:
    reply = tvs_query(host=served.face.host, port=served.face.port, serial=b"", issuer="")
    assert reply is not None and reply.presented  # the handshake happened
    assert reply.roles == frozenset()  # an empty serial is a signer nobody holds


def test_the_lab_phone_accepts_the_target_ctl_through_the_wire_tvs_only_when_pinned(served: Served) -> None:
    lab = served.lab
    pb.establish_trust(lab, source=SOURCE, target="new")
    pb.wait(lab, 120)
    pb.restart_tvs_everywhere(lab, cluster=SOURCE)
    phone = lab.phones()[0]
    held = PhoneTrust(phone.ctl.parsed if phone.ctl else None, phone.itl.parsed if phone.itl else None)
    new_ctl = lab.tftp_file("new", "cucm-new-pub", "CTLFile.tlv")
    assert new_ctl is not None
    new = file_under_test("CTL", read(new_ctl))

    verdict = judge(phone=held, new=new, tvs=[served.contact()], knobs=DEFAULT_KNOBS)
    assert verdict.accepted, verdict.reason
    assert verdict.how == f"vouched by TVS {NODE}" and 0 in verdict.roles

    # a phone whose ITL lists no TVS certificate has nothing to pin and does not ask
    stranger = PhoneTrust(held.ctl, None)
    refused = judge(phone=stranger, new=new, tvs=[served.contact()], knobs=DEFAULT_KNOBS)
    assert not refused.accepted and refused.failure is Failure.NO_TVS_IN_ITL
