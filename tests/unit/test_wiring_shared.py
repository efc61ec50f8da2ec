"""``ProviderWiring.open_apply`` builds the registry over the estate's own connections: one client and
one RisPort70 pacer per cluster for the plan, the resets and the gates (R13); and the providers'
``owned()`` reads the state directory it is given, not ``.reconciler`` of the working directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reconciler.config.loader import load
from reconciler.model import Address
from reconciler.state.store import OwnedCertificate, StateStore
from reconciler.wiring import registry as registry_mod
from reconciler.wiring.connections import Connections
from reconciler.wiring.factory import ProviderWiring

ROOT = Path(__file__).resolve().parents[2]


def _owned(directory: Path, cert_id: str) -> None:
    store = StateStore(directory)
    with store.lock(timeout=1, command="test"):
        cert = OwnedCertificate(
            cluster="old",
            store="CallManager-trust",
            cert_id=cert_id,
            sha256="0" * 64,
            added_at="",
            apply_id="",
        )
        store.write(store.read().with_owned(cert))


def test_registry_shares_the_estate_connections_and_owned_reads_the_state_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded = load(ROOT / "examples" / "lab.yaml")
    assert loaded.state is not None
    seen: list[dict[str, Any]] = []
    monkeypatch.setattr(registry_mod, "build_registry", lambda desired, **kw: seen.append(kw) or {})
    monkeypatch.chdir(tmp_path)
    _owned(tmp_path / ".reconciler", "from-the-working-directory")
    _owned(tmp_path / "given", "from-the-given-dir")
    wiring = ProviderWiring().open_apply(loaded.state, state_dir=tmp_path / "given", parallelism=1)
    try:
        kw = seen[-1]
        assert isinstance(kw["conns"], Connections)
        assert kw["estate"] is wiring.estate and kw["conns"] is kw["estate"].conns
        owned = kw["owned"]
        assert owned(Address.parse("trust.old.CallManager-trust.from-the-given-dir"))
        assert not owned(Address.parse("trust.old.CallManager-trust.from-the-working-directory"))
        assert not owned(Address.parse("tvs.old.cucm-old-pub"))
    finally:
        wiring.close()


def test_every_dhcp_entry_of_the_registry_is_a_batch_provider(tmp_path: Path) -> None:
    """The executor batches a wave's option 150 steps only when the registry entry itself is a
    ``BatchProvider`` (R12 at scale: one session per DHCP server per wave); the lazy wrapper must not
    hide ``apply_batch``. Building the registry connects nothing."""
    from reconciler.provider import BatchProvider
    from reconciler.wiring.estate import ProviderEstate

    loaded = load(ROOT / "examples" / "lab.yaml")
    assert loaded.state is not None
    conns = Connections(loaded.state)
    try:
        registry = registry_mod.build_registry(
            loaded.state, conns=conns, estate=ProviderEstate(conns), owned=lambda _a: False
        )
        dhcp = {k: v for k, v in registry.items() if isinstance(k, tuple) and k[0].startswith("dhcp")}
        assert dhcp and len(dhcp) == len(loaded.state.dhcp.servers)
        for entry in dhcp.values():
            assert isinstance(entry, BatchProvider) and "option150" in entry.batch_kinds
    finally:
        conns.close()


def test_the_lazy_batch_entry_hands_batches_to_the_provider_it_builds() -> None:
    calls: list[str] = []

    class Inner(registry_mod.ProviderBase):
        kinds = frozenset({"option150"})

        def apply_batch(self, changes: Any) -> tuple[Any, ...]:
            calls.append(f"apply {len(changes)}")
            return ()

        def verify_batch(self, changes: Any) -> tuple[Any, ...]:
            calls.append(f"verify {len(changes)}")
            return ()

    built: list[int] = []
    entry = registry_mod._LazyBatch(
        lambda: built.append(1) or Inner(),
        kinds=frozenset({"option150"}),
        batch_kinds=frozenset({"option150"}),
        endpoint="r",
    )
    assert built == [], "built on first use only"
    entry.apply_batch([1, 2, 3])
    entry.verify_batch([1, 2, 3])
    assert calls == ["apply 3", "verify 3"] and built == [1]


def test_making_one_client_does_not_hold_up_the_others_and_each_is_made_once() -> None:
    """The refresh's readers get their clients while another one is being made (a WSDL load, an SSH
    login): ``Connections`` locks per key, not around every ``make``."""
    import threading

    loaded = load(ROOT / "examples" / "lab.yaml")
    assert loaded.state is not None
    conns = Connections(loaded.state)
    slow_started, release = threading.Event(), threading.Event()
    made: list[str] = []

    def slow() -> str:
        slow_started.set()
        release.wait(10)
        made.append("slow")
        return "slow client"

    try:
        first = threading.Thread(target=lambda: conns._get(("a",), slow, lambda _c: None))
        second = threading.Thread(target=lambda: conns._get(("a",), slow, lambda _c: None))
        first.start()
        assert slow_started.wait(10)
        second.start()  # the same key: waits for the first make, does not make again
        quick = conns._get(("b",), lambda: "quick client", lambda _c: None)
        assert quick == "quick client" and not release.is_set(), "key b was not held up by key a"
        release.set()
        first.join(10)
        second.join(10)
        assert made == ["slow"]
        assert conns._get(("a",), slow, lambda _c: None) == "slow client"
    finally:
        release.set()
        conns.close()
