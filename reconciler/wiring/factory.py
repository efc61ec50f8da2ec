"""The one seam between the commands and the concrete world: a ``WiringFactory``.

The CLI's global options (``reconciler.commands.common.GlobalOptions.wiring``) hold one; ``plan`` and
``drift`` ask it for a read-only ``LiveEstate`` (``open_estate``), ``apply`` for the estate plus the
executor's provider registry over the same connections (``open_apply``). ``ProviderWiring`` is the real
one, over the providers in ``providers/``; tests give the CLI their own factory through the global
options (``CliRunner().invoke(app, args, obj=GlobalOptions(wiring=...))``), never by patching a module.

Importing this module is cheap: the providers (zeep, paramiko) are imported inside the methods, so
``reconciler --help`` stays fast.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # reconciler.live.protocol imports cryptography: keep `reconciler --help` fast
    from reconciler.apply.executor import Registry
    from reconciler.live.progress import ReadHooks
    from reconciler.live.protocol import LiveEstate
    from reconciler.model import Address
    from schemas.document import DesiredState

__all__ = ["ApplyWiring", "ProviderWiring", "WiringFactory", "owned_in"]


@dataclass(slots=True, kw_only=True)
class ApplyWiring:
    """What ``apply`` needs from the concrete world: a read-only estate, the provider registry (without
    the wave gates, see ``reconciler.wiring.gates``) over the same connections, and ``close`` for all
    sessions."""

    estate: LiveEstate
    registry: Registry
    close: Callable[[], None]


class WiringFactory(Protocol):
    """How a command reaches the world (``ProviderWiring``, or a test's fakes)."""

    def open_estate(
        self,
        desired: DesiredState,
        *,
        parallelism: int = 4,
        hooks: ReadHooks | None = None,
        timeout: float | None = None,
    ) -> AbstractContextManager[LiveEstate]:
        """A read-only estate for ``desired``; its sessions close when the block ends. ``hooks`` hear the
        read's progress and waits; ``timeout`` (``--timeout``) caps every connect/read wait and each read
        with its retries."""
        ...

    def open_apply(
        self,
        desired: DesiredState,
        *,
        state_dir: Path,
        parallelism: int = 4,
        hooks: ReadHooks | None = None,
    ) -> ApplyWiring:
        """The estate and the executor's providers for ``desired``; ``owned`` reads ``state_dir``;
        ``hooks`` hear the estate's reads (``apply``'s own refresh and its stale-plan check)."""
        ...


def owned_in(state_dir: Path) -> Callable[[Address], bool]:
    """Whether the state in ``state_dir`` records that reconciler added the trust certificate at an
    address (``mode: exact`` deletes only those). Read at each call, so it sees certificates added
    earlier in the same run."""
    from reconciler.state.store import StateStore  # noqa: PLC0415 - keep the import light

    store = StateStore(state_dir)

    def owned(address: Address) -> bool:
        parts = address.parts
        return len(parts) == 4 and store.read().owns(cluster=parts[1], store=parts[2], cert_id=parts[3])

    return owned


class ProviderWiring:
    """The real world: ``reconciler.wiring.estate.ProviderEstate`` and ``build_registry`` over one
    ``Connections`` (clients made on first use, credentials resolved then)."""

    @contextlib.contextmanager
    def open_estate(
        self,
        desired: DesiredState,
        *,
        parallelism: int = 4,
        hooks: ReadHooks | None = None,
        timeout: float | None = None,
    ) -> Iterator[LiveEstate]:
        """Leaving the block (also by an error) ends every read wait still running."""
        from reconciler.wiring.connections import Connections  # noqa: PLC0415 - heavy
        from reconciler.wiring.estate import ProviderEstate  # noqa: PLC0415 - heavy
        from reconciler.wiring.readwait import DEFAULT_TIMEOUT, limit_waits  # noqa: PLC0415 - heavy

        limit_waits(timeout)
        conns = Connections(desired)
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

    def open_apply(
        self,
        desired: DesiredState,
        *,
        state_dir: Path,
        parallelism: int = 4,
        hooks: ReadHooks | None = None,
    ) -> ApplyWiring:
        """One set of connections for the plan, the providers, the resets and the gates: one client,
        one SSH session and one RisPort70 pacer per endpoint, so together they stay inside each
        cluster's query allowance (R13). ``close()`` on any provider closes them all. ``hooks`` hear
        the estate's reads (the renderer shows only those inside its block)."""
        from reconciler.wiring import registry as registry_mod  # noqa: PLC0415 - heavy
        from reconciler.wiring.connections import Connections  # noqa: PLC0415 - heavy
        from reconciler.wiring.estate import ProviderEstate  # noqa: PLC0415 - heavy

        conns = Connections(desired)
        try:
            estate = ProviderEstate(conns, parallelism=parallelism, hooks=hooks)
            registry = registry_mod.build_registry(
                desired, conns=conns, estate=estate, owned=owned_in(state_dir)
            )
        except BaseException:
            conns.close()
            raise
        for provider in {id(p): p for p in registry.values()}.values():
            provider.close = conns.close  # type: ignore[method-assign]
        return ApplyWiring(estate=estate, registry=registry, close=conns.close)
