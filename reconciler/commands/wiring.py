"""How the CLI gets a ``LiveEstate``: ``open_estate(desired_state, ...)``.

SEAM — NOT WIRED YET. The concrete providers (providers/cucm_axl.py, cucm_certs.py,
cucm_serviceability.py, cucm_tftp.py, dhcp_*.py) are written by other engineers; the lead wires them
here: build one provider per cluster/DHCP server from ``desired_state`` (credentials resolved late via
``reconciler.secrets``), wrap them in an adapter implementing ``reconciler.live.LiveEstate``, yield it,
close the providers. Until then ``open_estate`` uses the factory installed with ``use_estate_factory``
(tests, the lab adapter) and otherwise raises ``PlanError`` saying the providers are not wired.

Heavy imports (zeep, paramiko) must stay inside ``open_estate`` (``reconciler --help`` < 0.3 s).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from reconciler.errors import PlanError

if TYPE_CHECKING:  # reconciler.live imports cryptography: keep `reconciler --help` fast
    from reconciler.live import LiveEstate
    from schemas.document import DesiredState

__all__ = ["EstateFactory", "open_estate", "use_estate_factory"]

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
def open_estate(desired_state: DesiredState, *, parallelism: int = 4) -> Iterator[LiveEstate]:
    """A read-only estate for ``desired_state``; providers are closed when the block ends."""
    del parallelism  # for the provider wiring: per-endpoint connection pools
    if _installed:
        yield _installed[-1](desired_state)
        return
    raise PlanError(
        "reading the live estate is not wired yet: the concrete providers are not connected to the CLI",
        hint="reconciler/commands/wiring.py:open_estate is the seam the lead wires",
    )
