"""A ``WiringFactory`` for CLI tests: the command under test gets it through the global options
(``CliRunner().invoke(app, args, obj=GlobalOptions(wiring=FakeWiring(...)))``), not by patching a module.

``estate(desired)`` makes the read-only estate of ``plan``/``drift``; ``apply(desired, state_dir=)``
(optional) the ``ApplyWiring`` of ``apply``. ``state_dirs`` records the state directory ``apply``
handed over (the directory ``owned()`` reads).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from reconciler.errors import PlanError
from reconciler.wiring.factory import ApplyWiring


class FakeWiring:
    def __init__(
        self,
        estate: Callable[[Any], Any],
        *,
        apply: Callable[..., ApplyWiring] | None = None,
    ) -> None:
        self._estate = estate
        self._apply = apply
        self.state_dirs: list[Path] = []
        self.hooks: Any = None  # the read hooks ``apply`` handed over

    @contextlib.contextmanager
    def open_estate(
        self, desired: Any, *, parallelism: int = 4, hooks: Any = None, timeout: float | None = None
    ) -> Iterator[Any]:
        yield self._estate(desired)

    def open_apply(
        self, desired: Any, *, state_dir: Path, parallelism: int = 4, hooks: Any = None
    ) -> ApplyWiring:
        self.state_dirs.append(state_dir)
        self.hooks = hooks
        if self._apply is None:
            raise PlanError("this test wiring has no providers that change anything")
        return self._apply(desired, state_dir=state_dir)
