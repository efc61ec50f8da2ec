"""``locked``: the decorator of every public ``Lab`` method — take the lab's one re-entrant lock and
settle due timed events first. Shared by ``simulator.model.lab`` and its wire-boot methods
(``simulator.model.labwire``)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

__all__ = ["locked"]

P = ParamSpec("P")
R = TypeVar("R")


def locked(method: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        lab: Any = args[0]
        with lab._lock:
            lab._settle()
            return method(*args, **kwargs)

    return wrapper
