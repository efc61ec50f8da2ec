"""How the CLI gets a ``LiveEstate`` (``open_estate``) and the executor's providers (``open_providers``).

``open_estate`` yields a ``reconciler.wiring.estate.ProviderEstate`` over the concrete providers
(AXL, certificates, serviceability/RisPort70, TFTP, DHCP), whose clients are made on first use
(credentials resolved then, via ``reconciler.config.secrets``) and closed when the block ends. A factory
installed with ``use_estate_factory`` (tests) takes precedence. ``open_providers`` builds the registry
``reconciler apply`` hands the executor (``reconciler.wiring.registry``); its providers share one set
of connections, closed by the first provider's ``close()``.

Heavy imports (zeep, paramiko) must stay inside ``open_estate`` (``reconciler --help`` < 0.3 s).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.errors import PlanError

if TYPE_CHECKING:  # reconciler.live.protocol imports cryptography: keep `reconciler --help` fast
    from reconciler.apply.executor import Registry
    from reconciler.live.progress import ReadHooks
    from reconciler.live.protocol import LiveEstate
    from reconciler.model import Address
    from schemas.document import DesiredState

__all__ = ["EstateFactory", "open_estate", "open_providers", "use_estate_factory"]

EstateFactory = Callable[["DesiredState"], "LiveEstate"]
_installed: list[EstateFactory] = []


@contextlib.contextmanager
def use_estate_factory(factory: EstateFactory) -> Iterator[None]:
    """Install ``factory`` for the duration of the block (tests; the lab adapter)."""
    _installed.append(factory)
    try:
        yield
    finally:
        _installed.remove(factory)


@contextlib.contextmanager
def open_estate(
    desired_state: DesiredState,
    *,
    parallelism: int = 4,
    hooks: ReadHooks | None = None,
    timeout: float | None = None,
) -> Iterator[LiveEstate]:
    """A read-only estate for ``desired_state``; providers are closed when the block ends. ``hooks``
    hear the read's progress and waits; ``timeout`` (``--timeout``) caps every connect/read wait and
    each read with its retries. Leaving the block (also by an error) ends every wait still running."""
    if _installed:
        yield _installed[-1](desired_state)
        return
    from reconciler.wiring.connections import Connections
    from reconciler.wiring.estate import ProviderEstate
    from reconciler.wiring.readwait import DEFAULT_TIMEOUT, limit_waits

    limit_waits(timeout)
    conns = Connections(desired_state)
    estate = ProviderEstate(
        conns,
        parallelism=parallelism,
        hooks=hooks,
        timeout=timeout if timeout is not None else DEFAULT_TIMEOUT,
    )
    try:
        yield estate
    finally:
        estate.stop()
        conns.close()


def open_providers(
    desired_state: DesiredState, *, base_dir: Path, parallelism: int = 4, estate: LiveEstate | None = None
) -> Registry:
    """The executor's registry for ``desired_state`` (``reconciler apply``). ``close()`` on any of its
    providers closes the connections they share. ``owned`` reads the state (``.reconciler`` under the
    working directory, as ``apply`` does) when asked, so it sees certificates added during the run.

    Given the ``estate`` that ``open_estate`` yielded, the providers use its connections: one client,
    one SSH session and one RisPort70 pacer per endpoint for the plan, the resets and the gates, so
    together they stay inside each cluster's query allowance (R13)."""
    del base_dir  # paths in the YAML were resolved against its directory by the loader
    if _installed:
        raise PlanError(
            "an estate factory is installed (tests): it has no providers that change anything",
            hint="install a registry through reconciler.commands.apply.open_wiring instead",
        )
    from reconciler.state.store import StateStore
    from reconciler.wiring.connections import Connections
    from reconciler.wiring.estate import ProviderEstate
    from reconciler.wiring.registry import build_registry

    shared = estate if isinstance(estate, ProviderEstate) else None
    conns = shared.conns if shared is not None else Connections(desired_state)
    store = StateStore(Path(".reconciler"))

    def owned(address: Address) -> bool:
        parts = address.parts
        return len(parts) == 4 and store.read().owns(cluster=parts[1], store=parts[2], cert_id=parts[3])

    registry = build_registry(
        desired_state,
        conns=conns,
        estate=shared if shared is not None else ProviderEstate(conns, parallelism=parallelism),
        owned=owned,
    )
    for provider in {id(p): p for p in registry.values()}.values():
        provider.close = conns.close  # type: ignore[method-assign]
    return registry
