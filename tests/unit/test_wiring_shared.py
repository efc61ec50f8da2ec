"""``open_providers(estate=...)`` builds the registry over the plan's own connections: one client and
one RisPort70 pacer per cluster for the plan, the resets and the gates (R13); without it, its own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reconciler.commands import wiring
from reconciler.config.loader import load
from reconciler.wiring import registry as registry_mod
from reconciler.wiring.connections import Connections
from reconciler.wiring.estate import ProviderEstate

ROOT = Path(__file__).resolve().parents[2]


def test_registry_shares_the_estate_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    loaded = load(ROOT / "examples" / "lab.yaml")
    assert loaded.state is not None
    seen: list[dict[str, Any]] = []
    monkeypatch.setattr(registry_mod, "build_registry", lambda desired, **kw: seen.append(kw) or {})
    estate = ProviderEstate(Connections(loaded.state))
    wiring.open_providers(loaded.state, base_dir=ROOT, estate=estate)
    assert seen[-1]["conns"] is estate.conns and seen[-1]["estate"] is estate
    wiring.open_providers(loaded.state, base_dir=ROOT)
    assert seen[-1]["conns"] is not estate.conns and isinstance(seen[-1]["conns"], Connections)
