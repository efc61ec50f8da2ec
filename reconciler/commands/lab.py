"""``reconciler lab up|status|down|phones|fault``: the built-in lab (two simulated secure CUCM clusters,
their phones and DHCP sources) as real servers on loopback (simulator/lab/runtime.py, docs/lab.md).

``up`` runs in the foreground (summary, "lab ready", stops on Ctrl-C/SIGTERM) or, with ``--detach``,
starts itself in a new session (pid in DIR/lab.pid, log in DIR/lab.log) and returns once the lab wrote
DIR/ready. ``status``, ``phones`` and ``fault`` ask the running lab's control endpoint (its URL and
password are in DIR/inventory.yaml). ``down`` sends SIGTERM, waits, and checks that no process of the
lab's session is left. The simulator and every heavy library are imported inside the command bodies.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import typer

__all__ = ["register"]

DEFAULT_DIR = Path(".reconciler/lab")
_KINDS = (
    "latency | axl-throttle | axl-queue | drop-ssh | tvs-fail | replication-lag | ris-exhausted | unreachable"
)
_DIR = typer.Option(DEFAULT_DIR, "--dir", help="Lab directory (inventory, CA, known_hosts, credentials).")


def _as_json(ctx: typer.Context, local: bool) -> bool:
    return local or bool(getattr(ctx.find_root().obj, "json", False))


def _fail(exc: Any) -> None:
    typer.echo(f"error: {getattr(exc, 'message', exc)}", err=True)
    if getattr(exc, "hint", None):
        typer.echo(f"    hint: {exc.hint}", err=True)
    raise typer.Exit(1)


def summary_lines(inv: dict[str, Any], *, startup: float | None = None) -> list[str]:
    """A short human summary of a lab inventory."""
    ports = inv["ports"]
    took = f", started in {startup:.2f} s" if startup is not None else ""
    lines = [f"lab {inv['lab']!r} in {inv['directory']} (prefix {inv['prefix']}, pid {inv['pid']}{took})"]
    for name, c in inv["clusters"].items():
        nodes = ", ".join(f"{n} {e['host']}" for n, e in c["nodes"].items())
        lines.append(f"  {name} ({c['role']}, {c['version']}): {nodes}")
    lines.append(
        f"  per node: HTTPS :{ports['https']} (AXL, ControlCenterServices, RisPort70, certmgr on 14+), "
        f"TFTP-over-HTTP :{ports['tftp_http']} (TFTP nodes), admin CLI SSH :{ports['ssh']}"
    )
    for server in inv["dhcp"]["servers"]:
        if server["kind"] == "ios":
            lines.append(f"  IOS router {server['host']}:{server['port']} (user {server['username']})")
        elif server["kind"] == "kea":
            s = server["server"]
            lines.append(f"  Kea {s['host']}:{s['port']}, control agent {server['control_agent']['url']}")
    lines.append(f"  SFTP {inv['sftp']['host']}:{inv['sftp']['port']}   control {inv['control']['url']}")
    lines.append(f"  {inv['phones']} phones in {len(inv['dhcp']['scopes'])} scopes")
    lines.append(f"  inventory {inv['directory']}/inventory.yaml; CA, known_hosts and credentials/ beside it")
    return lines


def up(
    ctx: typer.Context,
    *,
    spec: Path | None = typer.Option(
        None, "--spec", help="Lab spec YAML (docs/lab.md); default: lab.md's lab."
    ),
    from_snapshot: Path | None = typer.Option(
        None,
        "--from-snapshot",
        help="Build the lab from a snapshot (reconciler snapshot -o; docs/first-contact.md).",
    ),
    desired: Path | None = typer.Option(
        None, "--desired", help="--from-snapshot: the desired state it was taken with (default: as recorded)."
    ),
    directory: Path = _DIR,
    detach: bool = typer.Option(False, "--detach", help="Run in the background; return once ready."),
    with_kea: bool = typer.Option(False, "--with-kea", help="Serve scope-c from a real kea-dhcp4."),
    prefix: str = typer.Option(
        "127.0",
        "--prefix",
        envvar="RECONCILER_LAB_PREFIX",
        help="Address prefix 127.N: nodes at 127.N.10.x/20.x (or $RECONCILER_LAB_PREFIX).",
    ),
    restart_seconds: float | None = typer.Option(
        None, "--restart-seconds", min=0.0, help="How long a service restart takes (default: the spec's)."
    ),
    timeout: float = typer.Option(120.0, "--timeout", min=1.0, help="--detach: seconds to wait for ready."),
) -> None:
    """Start the built-in lab: both clusters' faces, the IOS router, SFTP, optionally Kea."""
    from reconciler.errors import LabError
    from simulator.inventory import LabPaths, read_inventory, write_public
    from simulator.lab.process import alive, read_pid

    paths = LabPaths.at(directory)
    if from_snapshot is not None:
        spec = _spec_from_snapshot(ctx, paths=paths, snapshot=from_snapshot, desired=desired, spec=spec)
    running = read_pid(paths.pid)
    if running is not None and alive(running) and running != os.getpid():
        _fail(
            LabError(f"a lab is already running in {paths.root} (pid {running})", hint="reconciler lab down")
        )
    try:
        if detach:
            if spec is not None:  # a bad spec fails here, with its positions, not in the child's log
                from simulator.lab.specfile import load_lab_file

                load_lab_file(spec)
            _detach(
                paths, spec=spec, with_kea=with_kea, prefix=prefix, restart=restart_seconds, timeout=timeout
            )
            return
        from simulator.lab.runtime import LabRuntime
        from simulator.lab.specfile import load_lab_file

        loaded = load_lab_file(spec) if spec is not None else None
        runtime = LabRuntime(
            directory=paths.root,
            spec=loaded.spec if loaded else None,
            prefix=prefix,
            with_kea=with_kea,
            restart_duration=restart_seconds,
            faults=loaded.faults if loaded else (),
        )
        stop = threading.Event()
        previous = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGTERM, signal.SIGINT)}
        runtime.start()
    except LabError as exc:
        _fail(exc)
    try:
        write_public(paths.pid, f"{os.getpid()}\n")
        for line in summary_lines(read_inventory(paths), startup=runtime.startup_seconds):
            typer.echo(line)
        runtime.mark_ready()
        typer.echo("lab ready", nl=True)
        sys.stdout.flush()
        while not stop.wait(1.0):
            pass
        typer.echo("stopping the lab ...")
    finally:
        runtime.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if read_pid(paths.pid) == os.getpid():
            paths.pid.unlink()
    typer.echo("lab stopped")


def _spec_from_snapshot(
    ctx: typer.Context, *, paths: Any, snapshot: Path, desired: Path | None, spec: Path | None
) -> Path:
    """Write the lab spec a snapshot describes to ``DIR/lab-spec.yaml`` (the spec ``rehearse`` uses)."""
    import yaml

    from reconciler.commands.rehearse import lab_spec_draft
    from reconciler.errors import LabError, ReconcilerError

    if spec is not None:
        _fail(LabError("give --spec or --from-snapshot, not both"))
    try:
        if desired is None:
            recorded = json.loads(snapshot.read_text()).get("source", {}).get("desired", {}).get("path")
            if not recorded:
                raise LabError("the snapshot does not name its desired state", hint="pass --desired FILE")
            desired = Path(recorded)
        draft, _ = lab_spec_draft(file=desired, snapshot=snapshot, ctx=ctx)
    except (ReconcilerError, OSError, ValueError) as exc:
        _fail(exc)
    paths.root.mkdir(parents=True, exist_ok=True)
    out: Path = paths.root / "lab-spec.yaml"
    notes = "".join(f"# note: {n}\n" for n in draft.notes)
    out.write_text(f"# built from {snapshot} by reconciler lab up --from-snapshot\n{notes}"
                   + yaml.safe_dump(draft.spec, sort_keys=False))  # fmt: skip
    for note in draft.notes:
        typer.echo(f"note: {note}", err=True)
    return out


def _detach(
    paths: Any, *, spec: Path | None, with_kea: bool, prefix: str, restart: float | None, timeout: float
) -> None:
    from simulator.inventory import read_inventory, write_public
    from simulator.lab.process import spawn_detached, wait_ready

    paths.prepare()
    argv = [sys.executable, "-m", "reconciler", "lab", "up", "--dir", str(paths.root), "--prefix", prefix]
    if spec is not None:
        argv += ["--spec", str(spec.resolve())]
    if with_kea:
        argv.append("--with-kea")
    if restart is not None:
        argv += ["--restart-seconds", str(restart)]
    proc = spawn_detached(argv, log=paths.log, env=dict(os.environ, PYTHONUNBUFFERED="1"))
    write_public(paths.pid, f"{proc.pid}\n")
    waited = wait_ready(proc, ready=paths.ready, log=paths.log, timeout=timeout)
    for line in summary_lines(read_inventory(paths)):
        typer.echo(line)
    typer.echo(
        f"lab ready in {waited:.2f} s (pid {proc.pid}, log {paths.log}); stop it with 'reconciler lab down'"
    )


def _inventory(directory: Path) -> dict[str, Any]:
    from reconciler.errors import LabError
    from simulator.inventory import LabPaths, read_inventory
    from simulator.lab.process import alive, read_pid

    paths = LabPaths.at(directory)
    pid = read_pid(paths.pid)
    if pid is None or not alive(pid):
        _fail(LabError(f"no lab is running in {paths.root}", hint="reconciler lab up --detach"))
    try:
        return read_inventory(paths)
    except LabError as exc:
        _fail(exc)
        raise


def _control(directory: Path, method: str, path: str, body: Any = None) -> Any:
    from reconciler.errors import LabError
    from simulator.lab.control import control_request

    inventory = _inventory(directory)
    try:
        return control_request(inventory["control"], method, path, body)
    except LabError as exc:
        _fail(exc)


def status(
    ctx: typer.Context,
    directory: Path = _DIR,
    json_output: bool = typer.Option(False, "--json", help="One JSON document."),
) -> None:
    """Is the lab running (exit 1 if not)? Phones per cluster and status, active faults."""
    answer = _control(directory, "GET", "/status")
    if _as_json(ctx, json_output):
        typer.echo(json.dumps(answer, indent=2))
        return
    where = f"(pid {answer['pid']}, up {answer['uptime_s']} s) in {answer['directory']}"
    typer.echo(f"lab {answer['lab']!r} running {where}")
    for name, per in answer["phones_by_cluster"].items():
        typer.echo(f"  {name}: " + ", ".join(f"{n} {s}" for s, n in sorted(per.items())))
    for fault in answer["faults"]:
        typer.echo("  fault: " + " ".join(f"{k}={v}" for k, v in fault.items()))
    if answer.get("boot") == "wire":
        typer.echo(f"  phones boot over the wire ({answer.get('booting', 0)} rebooting now)")
    elif answer.get("boot"):
        typer.echo("  phones boot in the model, at once")
    typer.echo(f"  {answer['operations']} operation(s) recorded by the model")


def down(
    directory: Path = _DIR,
    timeout: float = typer.Option(20.0, "--timeout", min=1.0, help="Seconds to wait for a clean stop."),
) -> None:
    """Stop the lab (SIGTERM, wait), verify no process of it is left, remove the pid file."""
    from simulator.inventory import LabPaths
    from simulator.lab.process import alive, read_pid, session_members, stop_session

    paths = LabPaths.at(directory)
    pid = read_pid(paths.pid)
    if pid is None or not alive(pid):
        typer.echo(f"no lab is running in {paths.root}")
        paths.pid.unlink(missing_ok=True)
        paths.ready.unlink(missing_ok=True)
        return
    killed = stop_session(pid, timeout=timeout)
    left = [p for p in session_members(pid)] + ([pid] if alive(pid) else [])
    paths.pid.unlink(missing_ok=True)
    paths.ready.unlink(missing_ok=True)
    if left:
        typer.echo(f"error: processes of the lab are still running: {left}", err=True)
        raise typer.Exit(1)
    extra = f" (had to SIGKILL {killed})" if killed else ""
    typer.echo(f"lab stopped (pid {pid}); no process left{extra}")


def phones(
    ctx: typer.Context,
    directory: Path = _DIR,
    json_output: bool = typer.Option(False, "--json", help="One JSON list."),
    cluster: str | None = typer.Option(
        None, "--cluster", help="Only phones whose configuration is this cluster's."
    ),
    status_filter: str | None = typer.Option(None, "--status", help="Registered | UnRegistered | Rejected."),
) -> None:
    """Phones with registration status, cluster, node and reason (from the running lab)."""
    rows = _control(directory, "GET", "/phones")
    rows = [r for r in rows if cluster in (None, r["cluster"]) and status_filter in (None, r["status"])]
    if _as_json(ctx, json_output):
        typer.echo(json.dumps(rows, indent=2))
        return
    typer.echo(f"{'PHONE':<16} {'SCOPE':<10} {'CLUSTER':<8} {'NODE':<16} {'STATUS':<13} REASON")
    for r in rows:
        reason = r["reason"] + (
            f" [{r['rule']}]" if r["rule"] and f"[{r['rule']}]" not in r["reason"] else ""
        )
        where = f"{r['scope']:<10} {r['cluster']:<8} {r['node'] or '-':<16}"
        typer.echo(f"{r['name']:<16} {where} {r['status']:<13} {reason}")
    typer.echo(f"{len(rows)} phone(s)")


def fault(
    *,
    kind: str = typer.Argument(
        ...,
        help=_KINDS,
    ),
    directory: Path = _DIR,
    cluster: str | None = typer.Option(
        None, "--cluster", help="Cluster (axl-throttle, axl-queue, replication-lag, ris-exhausted)."
    ),
    node: str | None = typer.Option(None, "--node", help="Node name or IP, or 'ios' / 'sftp'."),
    face: str | None = typer.Option(None, "--face", help="latency, unreachable: https|tftp|cli|tvs (all)."),
    seconds: float | None = typer.Option(None, "--seconds", help="latency / replication-lag seconds."),
    count: int | None = typer.Option(None, "--count", help="drop-ssh commands; tvs-fail starts (-1: all)."),
    off: bool = typer.Option(False, "--off", help="Clear the fault."),
) -> None:
    """Inject (or clear with --off) a fault into the running lab; prints what now happens."""
    body = {"kind": kind, "cluster": cluster, "node": node, "face": face, "seconds": seconds, "count": count,
            "off": off}  # fmt: skip
    answer = _control(directory, "POST", "/faults", {k: v for k, v in body.items() if v is not None})
    typer.echo(answer["applied"])


def schema() -> None:
    """Print the JSON Schema of a lab spec file (docs/lab-spec.schema.json)."""
    from simulator.lab.specschema import lab_spec_schema

    typer.echo(json.dumps(lab_spec_schema(), indent=2))


def register(app: typer.Typer) -> None:
    lab_app = typer.Typer(
        help="The built-in lab: two simulated secure CUCM clusters on loopback.", no_args_is_help=True
    )
    lab_app.command("up")(up)
    lab_app.command("status")(status)
    lab_app.command("down")(down)
    lab_app.command("phones")(phones)
    lab_app.command("fault")(fault)
    lab_app.command("schema")(schema)
    app.add_typer(lab_app, name="lab")
