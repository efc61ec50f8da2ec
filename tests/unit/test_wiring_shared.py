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
