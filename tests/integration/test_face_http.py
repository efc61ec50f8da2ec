"""requests (a real HTTP client) against the certmgr REST face (HTTPS) and TFTP-over-HTTP (plain HTTP)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from simulator.faces.backends import CertEntry
from simulator.faces.fakes import FakeNode
from simulator.faces.https import Credentials, HttpFaceServer
from simulator.faces.node import node_https_server
from simulator.faces.tftp_http import tftp_http_server
from simulator.faces.tls import LabCa, issue_server_cert, server_context

pytestmark = pytest.mark.lab

APP, OS = Credentials("axladmin", "a"), Credentials("admin", "o")
PEM = LabCa.create("Some CA").cert_pem.decode()


def _serve(tmp: Path, version: str) -> tuple[HttpFaceServer, FakeNode, requests.Session]:
    ca = LabCa.create()
    (tmp / "ca.pem").write_bytes(ca.cert_pem)
    node = FakeNode(version=version)
    node.own = [CertEntry("tomcat", "tomcat.pem", PEM)]
    node.trust = [CertEntry("tomcat-trust", "a.pem", PEM)]
    server = node_https_server(
        name="n",
        host="127.0.20.1",
        port=0,
        version=version,
        app_user=APP,
        os_admin=OS,
        tls=server_context(issue_server_cert(ca, hostname="cucm-new-pub", ip="127.0.20.1")),
        axl=None,
        services=None,
        ris=None,
        certmgr=node,
    ).start()
    session = requests.Session()
    session.trust_env = False
    session.verify = str(tmp / "ca.pem")
    session.auth = (OS.user, OS.password)
    return server, node, session


@pytest.fixture
def rest(tmp_path: Path) -> Iterator[tuple[str, FakeNode, requests.Session]]:
    server, node, session = _serve(tmp_path, "14.0.1.11900-132")
    try:
        yield server.base_url + "/platformcom/api/v1/certmgr", node, session
    finally:
        server.stop()


def test_certmgr_snapshot_upload_list_delete(rest: tuple[str, FakeNode, requests.Session]) -> None:
    base, node, s = rest
    snap = s.get(f"{base}/config/snapshot/server", timeout=5).json()
    assert snap["server"] == node.name
    assert snap["identities"] == [{"service": "tomcat", "certificate": PEM}]
    assert snap["trusts"][0]["service"] == "tomcat-trust"
    made = s.post(
        f"{base}/config/trust/certificates",
        timeout=5,
        json={"service": ["CallManager", "Phone-SAST"], "certificates": [PEM], "description": "mig"},
    )
    assert made.status_code == 201
    listed = s.get(f"{base}/config/trust/certificate", params={"service": "CallManager"}, timeout=5).json()
    assert [e["certificate"] for e in listed] == [PEM]
    filename = listed[0]["filename"]
    gone = s.delete(
        f"{base}/config/trust/certificate",
        params={"service": "CallManager", "filename": filename},
        timeout=5,
    )
    assert gone.status_code == 200
    assert all(e.filename != filename or e.unit != "CallManager-trust" for e in node.trust)
    identity = s.get(f"{base}/config/identity/certificate", params={"service": "tomcat"}, timeout=5).json()
    assert identity["certificate"] == PEM


def test_certmgr_errors_are_json_with_message(rest: tuple[str, FakeNode, requests.Session]) -> None:
    base, _node, s = rest
    bad = s.post(
        f"{base}/config/trust/certificates", json={"service": "tomcat", "certificates": ["junk"]}, timeout=5
    )
    assert bad.status_code == 400 and bad.json()["message"]
    missing = s.delete(
        f"{base}/config/trust/certificate", params={"service": "tomcat", "filename": "x.pem"}, timeout=5
    )
    assert missing.status_code == 404 and "does not exist" in missing.json()["message"]
    s.auth = (APP.user, APP.password)  # the application user is not the OS admin
    assert s.get(f"{base}/config/snapshot/server", timeout=5).status_code == 401


def test_certmgr_absent_before_14(tmp_path: Path) -> None:
    server, _node, s = _serve(tmp_path, "11.5.1.21900-40")
    try:
        assert (
            s.get(
                f"{server.base_url}/platformcom/api/v1/certmgr/config/snapshot/server", timeout=5
            ).status_code
            == 404
        )
    finally:
        server.stop()


def test_tftp_over_http() -> None:
    node = FakeNode()
    node.files = {
        "ITLFile.tlv": b"\x01itl",
        "ITLSEP001122334455.tlv": b"\x01per-phone",
        "SEP001122334455.cnf.xml": b"<d/>",
    }
    server = tftp_http_server(node, name="tftp", host="127.0.10.2", port=0).start()
    try:
        url = server.base_url
        assert url.startswith("http://")
        assert requests.get(f"{url}/ITLFile.tlv", timeout=5).content == b"\x01itl"
        assert requests.get(f"{url}/ITLSEP001122334455.tlv", timeout=5).content == b"\x01per-phone"
        assert requests.get(f"{url}/SEP001122334455.cnf.xml", timeout=5).text == "<d/>"
        assert requests.get(f"{url}/CTLFile.tlv", timeout=5).status_code == 404  # valid name, not present
        assert requests.get(f"{url}/etc/passwd", timeout=5).status_code == 404
    finally:
        server.stop()


def test_unreachable_node_closes_connections() -> None:
    node = FakeNode()
    server = tftp_http_server(node, name="tftp", host="127.0.10.3", port=0).start()
    try:
        server.faults.unreachable = True
        with pytest.raises(requests.ConnectionError):
            requests.get(f"{server.base_url}/ITLFile.tlv", timeout=5)
    finally:
        server.stop()


def test_unreachable_node_drops_open_keepalive_connections_too() -> None:
    """A node that goes down mid-apply does not keep answering on connections opened before (live R3
    reads reuse their pooled connections)."""
    node = FakeNode()
    node.files = {"ITLFile.tlv": b"\x01itl"}
    server = tftp_http_server(node, name="tftp", host="127.0.10.3", port=0).start()
    try:
        with requests.Session() as session:
            assert session.get(f"{server.base_url}/ITLFile.tlv", timeout=5).content == b"\x01itl"
            server.faults.unreachable = True
            with pytest.raises(requests.ConnectionError):
                session.get(f"{server.base_url}/ITLFile.tlv", timeout=5)
            server.faults.unreachable = False
            assert session.get(f"{server.base_url}/ITLFile.tlv", timeout=5).content == b"\x01itl"
    finally:
        server.stop()
