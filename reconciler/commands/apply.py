"""``reconciler apply (FILE|PLAN) [--auto-approve] [--parallelism N] [--resume] [--lock-timeout DURATION]``.

FILE (desired-state YAML) plans and then applies, like ``terraform apply``; PLAN (a ``plan -o`` JSON)
applies that saved plan after checking it is fresh (state serial/lineage, live facts: R14) and that the
desired-state file it was made from is unchanged. ``--resume`` continues the newest unfinished apply from
its journal (with or without the argument). Without ``--auto-approve`` the plan summary is shown and
``yes`` must be typed; with stdin not a terminal the command refuses to prompt. Ctrl-C lets the running
step finish, journals it and exits 130; a second Ctrl-C aborts at once.

Exit codes: 0 applied, 1 error or a failed step, 130 interrupted. Heavy imports happen inside the
command body; concrete providers come only from ``reconciler.commands.wiring`` (via ``open_wiring``).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from reconciler.boundedio import MAX_DESIRED_BYTES, MAX_PLAN_BYTES, read_bounded

if TYPE_CHECKING:
    from reconciler.apply.executor import Registry
    from reconciler.apply.retry import Clock
    from reconciler.live.protocol import LiveEstate
    from reconciler.plan.document import Plan
    from schemas.document import DesiredState

__all__ = ["Wiring", "open_wiring", "register"]

STATE_DIR = Path(".reconciler")


@dataclass(slots=True, kw_only=True)
class Wiring:
    """What the command needs from the concrete world: a read-only estate, the provider registry
    (without the gate handler, which this command adds), and a ``close`` for all sessions."""

    estate: LiveEstate
    registry: Registry
    close: Callable[[], None]


def open_wiring(desired: DesiredState, *, base_dir: Path, parallelism: int = 4) -> Wiring:
    """The estate and the providers, from ``reconciler.commands.wiring``.

    ``wiring.open_estate(desired, parallelism=)`` (a context manager) gives the read-only estate and
    ``wiring.open_providers(desired, base_dir=, estate=)`` the registry (provider kind, or (kind,
    endpoint), → Provider) over the same connections. Without ``open_providers`` this raises
    ``PlanError``. Tests replace this whole function with in-process fakes.
    """
    from reconciler.errors import PlanError

    wiring = importlib.import_module("reconciler.commands.wiring")
    open_providers = getattr(wiring, "open_providers", None)
    if open_providers is None:
        raise PlanError(
            "the providers that change live systems are not wired into `apply` yet "
            "(reconciler.commands.wiring.open_providers)",
            hint="use `reconciler plan` to review the migration; apply needs the provider wiring",
        )
    stack = contextlib.ExitStack()
    try:
        estate = stack.enter_context(wiring.open_estate(desired, parallelism=parallelism))
        registry = open_providers(desired, base_dir=base_dir, parallelism=parallelism, estate=estate)
    except BaseException:
        stack.close()
        raise

    def close() -> None:
        for provider in {id(p): p for p in registry.values()}.values():
            with contextlib.suppress(Exception):
                provider.close()
        stack.close()

    return Wiring(estate=estate, registry=registry, close=close)


def _duration(text: str) -> float:
    """``30``, ``30s``, ``5m``, ``1h30m`` → seconds."""
    from schemas.common import parse_duration

    try:
        return float(text)
    except ValueError:
        pass
    try:
        return float(parse_duration(text.strip()).total_seconds())
    except (TypeError, ValueError) as exc:
        raise typer.BadParameter(f"{text!r} is not a duration (e.g. 30s, 5m, 1h30m)") from exc


def _is_plan(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            head = handle.read(4096).lstrip()
        if not head.startswith(b"{"):
            return False
        return "plan_id" in json.loads(read_bounded(path, limit=MAX_PLAN_BYTES))
    except OSError:
        return False
    except (ValueError, TypeError, RecursionError):
        return False


@contextlib.contextmanager
def _sigint_finishes_step(cancel: threading.Event) -> Iterator[None]:
    """First Ctrl-C: set ``cancel`` (finish the running step); second: KeyboardInterrupt."""

    def handler(signum: int, frame: object) -> None:
        if cancel.is_set():
            raise KeyboardInterrupt
        cancel.set()
        sys.stderr.write("\ninterrupt: finishing the running step (Ctrl-C again to abort now)\n")

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _load_desired(path: Path, *, expect_sha256: str | None = None) -> tuple[DesiredState, str]:
    from reconciler.config.loader import load
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
    result = load(path)
    if result.state is None or not result.ok:
        first = next(iter(result.diagnostics), None)
        raise ConfigError(
            f"{path} is not valid: {first.summary if first else 'see reconciler validate'}",
            hint=f"run `reconciler validate {path}`",
        )
    return result.state, digest


def _confirm(plan: Plan, *, auto_approve: bool, err: Callable[[str], None]) -> bool:
    from reconciler.render.apply import plan_summary_lines

    if auto_approve:
        return True
    if not sys.stdin.isatty():
        err("error: refusing to prompt for approval: stdin is not a terminal; use --auto-approve")
        raise typer.Exit(1)
    for line in plan_summary_lines(plan):
        err(line)
    answer = typer.prompt("Do you want to perform these actions? Only 'yes' will be accepted", default="")
    return bool(answer.strip() == "yes")


def _gate_handler(
    plan: Plan, desired: DesiredState, wiring: Wiring, *, clock: Clock, cancel: threading.Event
) -> Any:
    from reconciler.apply.gate_specs import EstateRegistrations, gate_specs_from_plan, target_call_nodes
    from reconciler.apply.gates import GateHandler, RisPacer

    target = desired.migration.target
    waves = {w.name: w.scopes for w in desired.migration.waves}
    gate_waves = [s.address.name for s in plan.steps if s.address.kind == "gate"]
    phones: dict[str, tuple[str, ...]] = {}
    if gate_waves:
        scopes = sorted({s for w in gate_waves for s in waves.get(w, ())})
        by_scope = wiring.estate.phones(scopes)
        phones = {w: tuple(p.name for s in waves.get(w, ()) for p in by_scope.get(s, ())) for w in gate_waves}
    nodes = target_call_nodes(wiring.estate, cluster=target) if gate_waves else frozenset()
    return GateHandler(
        specs=gate_specs_from_plan(plan, phones=phones, target_nodes=nodes),
        reader=EstateRegistrations(wiring.estate, cluster=target, source=desired.migration.source),
        pacer=RisPacer(per_minute=desired.policy.ris_queries_per_minute, clock=clock),
        clock=clock,
        cancel=cancel,
        endpoint=f"{target}/risport70",
    )


def apply(  # noqa: PLR0917 - typer maps parameters to options
    ctx: typer.Context,
    source: Path | None = typer.Argument(
        None, help="Desired-state YAML, or a plan saved with `plan -o`.", show_default=False
    ),
    auto_approve: bool = typer.Option(False, "--auto-approve", help="Do not ask for confirmation."),
    parallelism: int = typer.Option(4, "--parallelism", min=1, max=64, help="Steps in flight at most."),
    resume: bool = typer.Option(
        False, "--resume", help="Continue the last interrupted apply from its journal."
    ),
    lock_timeout: str = typer.Option(
        "0s", "--lock-timeout", help="Wait this long for the state lock (e.g. 30s)."
    ),
) -> None:
    """Apply a plan: trust, rolling TVS restarts, then wave by wave option 150, reset and gate."""
    from rich.console import Console

    from reconciler.apply.executor import ApplyOptions, Executor, find_resumable
    from reconciler.apply.hooks import ApplyHooks, ApplyStatus
    from reconciler.apply.retry import SystemClock
    from reconciler.errors import ReconcilerError
    from reconciler.plan.document import Plan
    from reconciler.render.apply import JsonLinesRenderer, RichApplyRenderer
    from reconciler.state.store import StateStore

    obj = ctx.find_root().obj
    color, as_json = bool(getattr(obj, "color", True)), bool(getattr(obj, "json", False))
    # soft_wrap: never hard-wrap at 80 columns when not on a terminal (CI logs keep whole sentences)
    console = Console(stderr=True, no_color=not color, highlight=False, soft_wrap=True)

    def err(text: str) -> None:
        console.print(text, markup=False, soft_wrap=True)

    timeout = _duration(lock_timeout)
    store = StateStore(STATE_DIR)
    cancel = threading.Event()
    clock = SystemClock(cancel=cancel)
    wiring: Wiring | None = None
    try:
        journal: Path | None = None
        if resume:
            given = (
                Plan.from_json(read_bounded(source, limit=MAX_PLAN_BYTES))
                if source is not None and _is_plan(source)
                else None
            )
            journal = find_resumable(store.directory / "journal", plan=given)
            if journal is None:
                err("error: there is no interrupted apply to resume" + (" for that plan" if given else ""))
                raise typer.Exit(1)
            plan = given or Plan.from_json(
                read_bounded(journal.with_suffix(".plan.json"), limit=MAX_PLAN_BYTES)
            )
            desired, _ = _load_desired(Path(plan.desired_path), expect_sha256=plan.desired_sha256)
            wiring = open_wiring(
                desired, base_dir=Path(plan.desired_path).resolve().parent, parallelism=parallelism
            )
        elif source is None:
            err("error: give a desired-state FILE or a saved PLAN (or --resume)")
            raise typer.Exit(1)
        elif _is_plan(source):
            from reconciler.plan.fingerprint import check_state

            plan = Plan.from_json(read_bounded(source, limit=MAX_PLAN_BYTES))
            # everything decidable offline first: the YAML unchanged and valid, the state not moved
            desired, _ = _load_desired(Path(plan.desired_path), expect_sha256=plan.desired_sha256)
            check_state(plan, store.read(), path=store.path)
            wiring = open_wiring(
                desired, base_dir=Path(plan.desired_path).resolve().parent, parallelism=parallelism
            )
        else:
            from reconciler.plan.planner import PlanOptions, build_plan

            desired, digest = _load_desired(source)
            wiring = open_wiring(desired, base_dir=source.resolve().parent, parallelism=parallelism)
            plan = build_plan(
                desired=desired,
                desired_path=str(source),
                desired_sha256=digest,
                estate=wiring.estate,
                state=store.read(),
                options=PlanOptions(parallelism=parallelism),
            )
        if plan.errored:
            for d in plan.diagnostics:
                err(
                    f"{d.severity.value}[{d.rule or '-'}]: {d.summary}"
                    + (f"\n    fix: {d.fix}" if d.fix else "")
                )
            err("error: the plan has errors; nothing was applied")
            raise typer.Exit(1)
        if journal is None and not plan.has_changes:
            message = "No changes. The estate matches the desired state."
            if as_json:
                from reconciler.render.apply import no_changes_json

                sys.stdout.write(no_changes_json(message))
            else:
                err(message)
            raise typer.Exit(0)
        if journal is None and not _confirm(plan, auto_approve=auto_approve, err=err):
            err("Apply cancelled.")
            raise typer.Exit(1)
        from reconciler.vocabulary import ProviderKind

        registry = dict(wiring.registry)
        registry[ProviderKind.RIS] = _gate_handler(plan, desired, wiring, clock=clock, cancel=cancel)
        hooks: ApplyHooks = JsonLinesRenderer(sys.stdout) if as_json else RichApplyRenderer(console)
        executor = Executor(
            registry=registry,
            store=store,
            hooks=hooks,
            clock=clock,
            cancel=cancel,
            options=ApplyOptions.from_policy(desired.policy, parallelism=parallelism),
        )
        estate = wiring.estate

        saved = source is not None and _is_plan(source)

        def fresh(p: Plan) -> None:
            from reconciler.plan.fingerprint import check_fresh

            # R14: a resumed apply changed trust, TVS and option 150 itself; identities must not move
            check_fresh(p, estate, kinds=("identity", "itlrecovery") if journal is not None else None)

        with _sigint_finishes_step(cancel):
            report = executor.apply(
                plan,
                resume=journal,
                lock_timeout=timeout,
                command=" ".join(["reconciler", *sys.argv[1:]]),
                check_fresh=fresh if saved or journal is not None else None,
            )
    except ReconcilerError as exc:
        err(f"error: {exc.message}")
        if exc.hint:
            err(f"hint: {exc.hint}")
        raise typer.Exit(1) from exc
    except OSError as exc:  # a saved plan or journal that cannot be read (or is too large)
        err(f"error: cannot read {exc.filename}: {exc.strerror or exc}")
        raise typer.Exit(1) from exc
    finally:
        if wiring is not None:
            wiring.close()
    if report.status is ApplyStatus.INTERRUPTED:
        if as_json:  # the human renderer's summary already said it, once
            err("interrupted: resume with `reconciler apply --resume`")
        raise typer.Exit(130)
    raise typer.Exit(0 if report.ok else 1)


def register(app: typer.Typer) -> None:
    app.command("apply")(apply)
