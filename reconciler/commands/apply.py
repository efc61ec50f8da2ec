"""``reconciler apply (FILE|PLAN) [--auto-approve] [--approve-one-way] [--parallelism N] [--resume]
[--lock-timeout DURATION] [--state-dir PATH]``.

FILE (desired-state YAML) plans and then applies, like ``terraform apply``; PLAN (a ``plan -o`` JSON)
applies that saved plan after checking it is fresh (state serial/lineage, live facts: R14) and that the
desired-state file it was made from is unchanged (a ``plan --rollback`` PLAN runs over the reversed
desired state it was made from, so its gates wait on the source). ``--resume`` continues the newest
unfinished apply from its journal (with or without the argument). Without ``--auto-approve`` the plan
summary is shown and ``yes`` must be typed; with stdin not a terminal the command refuses to prompt.
One-way steps (``PlanStep.reversibility``) need a separate confirmation: ``--approve-one-way``, or
``one-way`` typed at a terminal (``--auto-approve`` does not cover them). Ctrl-C lets the running
step finish, journals it and exits 130; a second Ctrl-C aborts at once.

Exit codes: 0 applied, 1 error or a failed step, 3 a wave paused (live R3: its source TVS is down;
``--resume`` continues), 130 interrupted. Heavy imports happen inside the command body; the estate and
the providers come only from the global options' wiring factory (``open_apply``), the wave gates and the
live R3 watch from ``reconciler.wiring.gates``; state and journals live in the state directory
(``--state-dir``, else the global options'). Its own refresh (FILE) and the stale-plan check (PLAN,
``--resume``) show their read progress on stderr as ``plan`` does (off with ``--quiet``).
"""

from __future__ import annotations

import contextlib
import json
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from reconciler.boundedio import MAX_PLAN_BYTES, read_bounded
from reconciler.commands.common import DEFAULT_STATE_DIR, global_options, load_desired, reading

if TYPE_CHECKING:
    from reconciler.plan.document import Plan
    from reconciler.wiring.factory import ApplyWiring
    from schemas.document import DesiredState

__all__ = ["register"]


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


def _as_planned(desired: DesiredState, plan: Plan) -> DesiredState:
    """The desired state ``plan`` was built over: reversed for a rollback plan (``plan --rollback``), so
    its gates wait for phones Registered on the source and live R3 watches the target's TVS; and with
    ``waves: {auto: ...}`` replaced by the waves the plan generated (``Plan.canary``), so apply runs
    exactly those."""
    from reconciler.plan.canary import with_expansion

    if plan.rollback is not None:
        from reconciler.plan.rollback import reverse_desired

        desired = reverse_desired(desired, moved=plan.rollback)
    return with_expansion(desired, plan.canary)


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


def _confirm_one_way(plan: Plan, *, approved: bool, err: Callable[[str], None]) -> bool:
    """A separate confirmation for one-way steps (``PlanStep.reversibility``): ``--approve-one-way``
    gives it; otherwise a terminal is asked (even under ``--auto-approve``) and no terminal refuses."""
    steps = plan.one_way_steps
    if not steps or approved:
        return True
    err(f"The plan has {len(steps)} one-way step(s); they cannot be undone:")
    for step in steps:
        err(f"  {step.address}: {step.reversibility.how if step.reversibility else ''}")
    if not sys.stdin.isatty():
        err("error: refusing one-way steps without approval: stdin is not a terminal; use --approve-one-way")
        raise typer.Exit(1)
    answer = typer.prompt("Perform these one-way steps? Only 'one-way' will be accepted", default="")
    return bool(answer.strip() == "one-way")


def apply(  # noqa: PLR0917 - typer maps parameters to options
    ctx: typer.Context,
    source: Path | None = typer.Argument(
        None, help="Desired-state YAML, or a plan saved with `plan -o`.", show_default=False
    ),
    auto_approve: bool = typer.Option(False, "--auto-approve", help="Do not ask for confirmation."),
    approve_one_way: bool = typer.Option(
        False, "--approve-one-way", help="Approve the plan's one-way steps too (--auto-approve does not)."
    ),
    parallelism: int = typer.Option(4, "--parallelism", min=1, max=64, help="Steps in flight at most."),
    resume: bool = typer.Option(
        False, "--resume", help="Continue the last interrupted apply from its journal."
    ),
    lock_timeout: str = typer.Option(
        "0s", "--lock-timeout", help="Wait this long for the state lock (e.g. 30s)."
    ),
    state_dir: Path = typer.Option(
        DEFAULT_STATE_DIR, "--state-dir", help="Directory of state.json and the journals."
    ),
) -> None:
    """Apply a plan: trust, rolling TVS restarts, then wave by wave option 150, reset and gate."""
    from rich.console import Console

    from reconciler.apply.executor import ApplyOptions, Executor
    from reconciler.apply.hooks import ApplyHooks, ApplyStatus
    from reconciler.apply.resume import find_resumable
    from reconciler.apply.retry import SystemClock
    from reconciler.errors import ReconcilerError
    from reconciler.plan.document import Plan
    from reconciler.render.apply import JsonLinesRenderer, RichApplyRenderer
    from reconciler.state.store import StateStore
    from reconciler.wiring.gates import gate_handler, tvs_watch

    opts = global_options(ctx).with_state_dir(ctx, state_dir)
    color, as_json = opts.color, opts.json
    world = opts.world()
    # soft_wrap: never hard-wrap at 80 columns when not on a terminal (CI logs keep whole sentences)
    console = Console(stderr=True, no_color=not color, highlight=False, soft_wrap=True)

    def err(text: str) -> None:
        console.print(text, markup=False, soft_wrap=True)

    timeout = _duration(lock_timeout)
    progress, _ = reading(opts)  # shown only inside its blocks: the refresh, the stale-plan check
    store = StateStore(opts.state_dir)
    cancel = threading.Event()
    clock = SystemClock(cancel=cancel)
    wiring: ApplyWiring | None = None
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
            desired = _as_planned(
                load_desired(Path(plan.desired_path), expect_sha256=plan.desired_sha256).desired, plan
            )
            wiring = world.open_apply(
                desired, state_dir=opts.state_dir, parallelism=parallelism, hooks=progress
            )
        elif source is None:
            err("error: give a desired-state FILE or a saved PLAN (or --resume)")
            raise typer.Exit(1)
        elif _is_plan(source):
            from reconciler.plan.fingerprint import check_state

            plan = Plan.from_json(read_bounded(source, limit=MAX_PLAN_BYTES))
            # everything decidable offline first: the YAML unchanged and valid, the state not moved
            desired = _as_planned(
                load_desired(Path(plan.desired_path), expect_sha256=plan.desired_sha256).desired, plan
            )
            check_state(plan, store.read(), path=store.path)
            wiring = world.open_apply(
                desired, state_dir=opts.state_dir, parallelism=parallelism, hooks=progress
            )
        else:
            from reconciler.plan.planner import PlanOptions, build_plan

            loaded = load_desired(source)
            desired = loaded.desired
            wiring = world.open_apply(
                desired, state_dir=opts.state_dir, parallelism=parallelism, hooks=progress
            )
            with progress:  # apply's own refresh, shown as plan shows it
                plan = build_plan(
                    desired=desired,
                    desired_path=str(source),
                    desired_sha256=loaded.sha256,
                    estate=wiring.estate,
                    state=store.read(),
                    options=PlanOptions(parallelism=parallelism),
                )
            if plan.canary is not None and not plan.errored:  # the resets and gates need the waves
                wiring.close()
                wiring = None
                desired = _as_planned(desired, plan)
                wiring = world.open_apply(
                    desired, state_dir=opts.state_dir, parallelism=parallelism, hooks=progress
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
        if not _confirm_one_way(plan, approved=approve_one_way, err=err):
            err("Apply cancelled: the one-way steps were not approved.")
            raise typer.Exit(1)
        from reconciler.vocabulary import ProviderKind

        registry = dict(wiring.registry)
        watch = tvs_watch(plan, desired, wiring.estate, clock=clock).check
        registry[ProviderKind.RIS] = gate_handler(
            plan, desired, wiring.estate, clock=clock, cancel=cancel, watch=watch
        )
        from reconciler.apply.window import WindowHandler

        registry[ProviderKind.WINDOW] = WindowHandler(clock=clock, cancel=cancel)
        hooks: ApplyHooks = JsonLinesRenderer(sys.stdout) if as_json else RichApplyRenderer(console)
        executor = Executor(
            registry=registry,
            store=store,
            hooks=hooks,
            clock=clock,
            cancel=cancel,
            options=ApplyOptions.from_policy(desired.policy, parallelism=parallelism),
            watch=watch,
        )
        estate = wiring.estate

        saved = source is not None and _is_plan(source)

        def fresh(p: Plan) -> None:
            from reconciler.plan.fingerprint import check_fresh

            # R14: a resumed apply changed trust, TVS and option 150 itself; identities must not move
            with progress:  # the stale-plan check reads the estate again
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
    if report.status is ApplyStatus.PAUSED:
        raise typer.Exit(3)  # live R3: a wave paused; the journal stays open for --resume
    raise typer.Exit(0 if report.ok else 1)


def register(app: typer.Typer) -> None:
    app.command("apply")(apply)
