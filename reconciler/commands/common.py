"""What the commands share: the global options (with the state directory and the wiring factory, the
one seam to the concrete world) and loading the desired state, rendering every problem or raising.

``reconciler.cli`` builds ``GlobalOptions`` in its root callback (keeping a ``state_dir`` and ``wiring``
given by an embedder or a test as ``obj``); command modules read it with ``global_options(ctx)``.
``load_or_exit`` is the load of ``plan``, ``drift``, ``graph`` and ``explain`` (every diagnostic, then
exit 1); ``load_desired`` is ``apply``'s (it raises, and ``apply`` prints one line and a hint).
Imports stay light: the loader and the renderers are imported inside the functions.
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from typer._click.core import ParameterSource

from reconciler.boundedio import MAX_DESIRED_BYTES, read_bounded

if TYPE_CHECKING:
    from reconciler.render.progress import ReadProgressRenderer
    from reconciler.wiring.factory import WiringFactory
    from schemas.document import DesiredState

__all__ = [
    "DEFAULT_STATE_DIR",
    "GlobalOptions",
    "Loaded",
    "global_options",
    "load_desired",
    "load_or_exit",
    "reading",
]

#: Where ``state.json`` and the journals live unless ``--state-dir`` says otherwise.
DEFAULT_STATE_DIR = Path(".reconciler")


@dataclass(frozen=True, slots=True)
class GlobalOptions:
    """Options given before the command, and the seam to the world. ``state_dir`` is the state
    directory a command uses when its own ``--state-dir`` is not given; ``wiring`` the factory of
    estates and providers (``None``: the real providers, ``reconciler.wiring.factory.ProviderWiring``)."""

    color: bool = True
    json: bool = False
    state_dir: Path = DEFAULT_STATE_DIR
    wiring: WiringFactory | None = None
    quiet: bool = False  # no progress display while reading (plan, drift, apply, doctor)
    timeout: float | None = None  # seconds: cap of every connect/read wait, and of each read's retries

    def world(self) -> WiringFactory:
        """The wiring factory: the one given, else the real providers."""
        if self.wiring is not None:
            return self.wiring
        from reconciler.wiring.factory import ProviderWiring

        return ProviderWiring()

    def with_state_dir(self, ctx: typer.Context, given: Path) -> GlobalOptions:
        """These options with the command's ``--state-dir`` when the user gave it (a default value
        leaves ``state_dir`` as it is)."""
        if ctx.get_parameter_source("state_dir") in (None, ParameterSource.DEFAULT):
            return self
        return replace(self, state_dir=given)


def global_options(ctx: typer.Context, *, json_flag: bool = False) -> GlobalOptions:
    """The global options of this invocation; a command's own ``--json`` (``json_flag``) adds to them."""
    obj = ctx.find_root().obj
    opts = obj if isinstance(obj, GlobalOptions) else GlobalOptions()
    return replace(opts, json=True) if json_flag and not opts.json else opts


@dataclass(frozen=True, slots=True)
class Loaded:
    """A valid desired state, the SHA-256 of the bytes it was loaded from (the plan records it) and
    how many warnings loading it gave."""

    desired: DesiredState
    sha256: str
    warnings: int = 0


def load_or_exit(path: Path, opts: GlobalOptions, *, stderr: bool = True) -> Loaded:
    """The desired state in ``path``; when it has errors (or cannot be read) every diagnostic is shown
    — as JSON on stdout with ``--json``, else on stderr (stdout with ``stderr=False``) — and the command
    exits 1. The file is read once: what is checked is what is hashed."""
    from reconciler.config.loader import load, load_bytes
    from reconciler.render.diagnostics import FileReport, make_console, render_reports, reports_json

    try:
        raw = read_bounded(path, limit=MAX_DESIRED_BYTES)
    except OSError:
        raw = None
    result = load(path) if raw is None else load_bytes(raw, path=path)
    report = FileReport(str(path), tuple(result.diagnostics))
    if raw is None or result.state is None or not report.valid:
        if opts.json:
            sys.stdout.write(json.dumps(reports_json([report]), indent=2) + "\n")
        else:
            render_reports(make_console(color=opts.color, stderr=stderr), [report])
        raise typer.Exit(1)
    return Loaded(result.state, hashlib.sha256(raw).hexdigest(), report.warnings)


def load_desired(path: Path, *, expect_sha256: str | None = None) -> Loaded:
    """The desired state in ``path``, or an error: ``ConfigError`` when it cannot be read or is not
    valid (naming the first problem), ``StalePlanError`` when its bytes are not the ``expect_sha256``
    a saved plan was made from."""
    from reconciler.config.loader import load_bytes
    from reconciler.errors import ConfigError, StalePlanError

    try:
        raw = read_bounded(path, limit=MAX_DESIRED_BYTES)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from exc
    digest = hashlib.sha256(raw).hexdigest()
    if expect_sha256 is not None and digest != expect_sha256:
        raise StalePlanError(
            f"saved plan is stale: {path} changed since the plan was made",
            changes=(f"desired-state file {path} changed",),
            hint="run `reconciler plan -o` again",
        )
    result = load_bytes(raw, path=path)
    if result.state is None or not result.ok:
        first = next(iter(result.diagnostics), None)
        raise ConfigError(
            f"{path} is not valid: {first.summary if first else 'see reconciler validate'}",
            hint=f"run `reconciler validate {path}`",
        )
    return Loaded(result.state, digest)


def reading(opts: GlobalOptions) -> tuple[ReadProgressRenderer, float | None]:
    """The progress display of a read (stderr; off with ``--quiet``) and the ``--timeout`` to pass to
    the wiring factory's ``open_estate``."""
    from reconciler.render.diagnostics import make_console
    from reconciler.render.progress import ReadProgressRenderer

    renderer = ReadProgressRenderer(make_console(color=opts.color, stderr=True), enabled=not opts.quiet)
    return renderer, opts.timeout
