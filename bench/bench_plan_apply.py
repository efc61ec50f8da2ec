"""Benchmark: ``plan`` and ``apply`` on the largest estate against their round-trip floors
(docs/performance.md#scale-targets).

1. Starts the largest estate (2 × 21 nodes, ``--phones`` phones in ``--scopes`` IOS scopes, 500
   certificates per trust store) in its own process (``reconciler lab up --spec --detach``; with
   ``--lab-in-process`` as a ``LabRuntime`` in this one) at prefix 127.90, with short TVS
   restarts, and writes a desired-state YAML for it (examples/lab.yaml with 21-node clusters, the
   scopes, ``--waves`` waves; the lab's RisPort70 allowance and the policy's ``ris_queries_per_minute``
   are both set to ``--ris-per-minute`` through AXL, so the floors use the allowance really enforced).
2. Measures one cheap round trip per face (AXL getCCMVersion, ControlCenterServices status, RisPort70
   one unknown device, certmgr REST 404, TFTP CTLFile.tlv, admin CLI ``show version active``, IOS
   ``terminal length 0``): median of a few, idle lab.
3. ``plan`` exactly as ``reconciler plan FILE`` does (``ProviderWiring().open_estate`` +
   ``build_plan``), ``--plan-runs`` times (median recorded; a minute apart so the allowance is
   fresh), counting every request per API (``bench/_floors.py`` wraps the transports; product code
   is unchanged). Floor = Σ over APIs (round trips ÷ allowed concurrency) × cheap latency;
   RisPort70 also ≥ queries per cluster ÷ allowance.
4. ``apply`` as ``reconciler apply FILE --auto-approve`` does (plan over the apply's estate, gate
   handler, executor), timing the trust/replication/TVS part, option 150, resets and the wave gates.
   Wave-verification floor = Σ over waves ⌈phones ÷ 1,000⌉ queries ÷ allowance per minute.
5. Peak RSS of this process (``ru_maxrss``) and of the lab's (``VmHWM``), or, with the lab in this
   process, the lab-only baseline.

Writes its section of docs/performance.md between the ``bench_plan_apply`` markers.

    .venv/bin/python bench/bench_plan_apply.py [--phones N] [--scopes N] [--waves N]
        [--ris-per-minute N] [--restart-seconds S] [--parallelism N] [--plan-runs N]
        [--lab-in-process] [--no-apply] [--no-write] [--progress S] [--json FILE]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import math
import os
import platform
import pstats
import resource
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(ROOT / "bench"))
from _doc import write_section  # noqa: E402
from _floors import (  # noqa: E402
    ADMIN_CLI,
    AXL,
    CERTMGR,
    CONTROL,
    IOS,
    RIS,
    TFTP,
    ApiCount,
    Meter,
    floor_terms,
)

DOC = ROOT / "docs" / "performance.md"
START = "<!-- bench_plan_apply:begin -->"
END = "<!-- bench_plan_apply:end -->"
PREFIX = "127.90"
RIS_CAP = 1000  # devices per RisPort70 reply (docs/performance.md; the gate asks for at most 1,000)
_WORDS = {
    "Cisco CallManager": "callmanager",
    "Cisco Tftp": "tftp",
    "Cisco Trust Verification Service": "tvs",
    "Cisco CTL Provider": "ctl_provider",
    "Cisco Certificate Authority Proxy Function": "capf",
}


class ThreadProfiles:
    """cProfile of every thread started while it runs (cProfile alone sees one thread; the plan's reads
    run in many). ``stop`` merges them and returns the top functions by internal and cumulative time."""

    def __init__(self) -> None:
        self.profiles: list[cProfile.Profile] = []
        self.main = cProfile.Profile()

    def _hook(self, *_: object) -> None:
        prof = cProfile.Profile()
        self.profiles.append(prof)
        prof.enable()  # replaces this hook for the calling thread

    def start(self) -> None:
        threading.setprofile(self._hook)
        self.main.enable()

    def stop(self) -> str:
        self.main.disable()
        threading.setprofile(None)  # type: ignore[arg-type]
        out = io.StringIO()
        stats = pstats.Stats(self.main, stream=out)
        for prof in self.profiles:
            prof.disable()  # only stops it on this thread; the others have ended or are idle
            stats.add(prof)
        stats.sort_stats("tottime").print_stats(60)
        stats.sort_stats("cumulative").print_stats(120)
        return out.getvalue()


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _vm_hwm_mib(pid: int) -> float:
    """Peak RSS of another process (``VmHWM`` in /proc/<pid>/status), 0 when unreadable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0


class LabProcess:
    """The lab in its own process, started as a user starts it (``reconciler lab up --spec --detach``),
    so its 42 nodes' servers do not share the client's interpreter lock. Offers what the bench uses of a
    ``LabRuntime``: ``spec`` (relocated to the prefix, rebuilt here: the spec is deterministic),
    ``paths``, ``phones()``, ``stop()``; plus ``pid`` and ``peak_rss_mib()``."""

    def __init__(
        self, *, directory: Path, phones: int, scopes: int, prefix: str, restart_seconds: float
    ) -> None:
        from simulator.inventory import LabPaths
        from simulator.lab.runtime import relocate
        from simulator.spec import largest_estate

        self.directory = directory
        self.paths = LabPaths.at(directory)
        self.spec = relocate(largest_estate(phones=phones, scopes=scopes), prefix)
        spec_file = directory.parent / "lab-spec.yaml"
        spec_file.write_text(yaml.safe_dump({"base": "largest", "phones": phones, "scopes": scopes}))
        self._cli([
            "lab", "up", "--spec", str(spec_file), "--dir", str(directory), "--prefix", prefix,
            "--restart-seconds", str(restart_seconds), "--detach", "--timeout", "600",
        ])  # fmt: skip
        self.pid = int(self.paths.pid.read_text().split()[0])

    @staticmethod
    def _cli(argv: list[str]) -> str:
        import subprocess

        done = subprocess.run(
            [sys.executable, "-m", "reconciler", *argv], capture_output=True, text=True, cwd=ROOT, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"reconciler {' '.join(argv[:2])} failed: {done.stderr[-2000:]}")
        return done.stdout

    def peak_rss_mib(self) -> float:
        return _vm_hwm_mib(self.pid)

    def phones(self) -> list[dict[str, Any]]:
        data: list[dict[str, Any]] = json.loads(
            self._cli(["lab", "phones", "--dir", str(self.directory), "--json"])
        )
        return data

    def stop(self) -> None:
        self._cli(["lab", "down", "--dir", str(self.directory)])


# --- the lab and its YAML ---------------------------------------------------------------------------
def desired_yaml(
    runtime: Any, *, waves: int, ris_per_minute: int, reset_ceiling: float = 200.0, pool_reset: bool = False
) -> str:
    """examples/lab.yaml rewritten for the running largest estate. ``pool_reset``: waves made of whole
    device pools (the estate's scopes are spread over 10 pools) and ``policy.resets.pool_level: auto``,
    so each wave's phones are reset by one ``resetDevicePool`` per pool."""
    lab_dir = runtime.paths.root.resolve()
    doc = yaml.safe_load((ROOT / "examples" / "lab.yaml").read_text())
    text = json.dumps(doc).replace("../.reconciler/lab/", f"{lab_dir}/")
    doc = json.loads(text)
    by_name = {c["name"]: c for c in doc["clusters"]}
    for spec in runtime.spec.clusters:
        by_name[spec.name]["nodes"] = [
            {
                "name": n.name,
                "host": n.ip,
                **({"publisher": True} if n.publisher else {}),
                "services": [w for s, w in _WORDS.items() if s in n.services],
            }
            for n in spec.nodes
        ]
    router = next(d for d in runtime.spec.dhcp if d.kind == "ios")
    server = next(s for s in doc["dhcp"]["servers"] if s["kind"] == "ios")
    server["host"] = router.address
    doc["dhcp"]["servers"] = [server]
    doc["dhcp"]["scopes"] = [
        {
            "name": s.name,
            "server": server["name"],
            "subnet": s.subnet,
            "relay": s.relay,
            "pool": s.pool,
            "option150": {"tftp_nodes_of": "new"},
        }
        for s in runtime.spec.scopes
    ]
    names = [s.name for s in runtime.spec.scopes]
    size = math.ceil(len(names) / waves)
    chunks = [names[i * size : (i + 1) * size] for i in range(waves)]
    if pool_reset:  # whole pools per wave: pools in order, ceil(pools / waves) of them a wave
        pools: dict[str, list[str]] = {}
        for scope in runtime.spec.scopes:
            pools.setdefault(scope.device_pool, []).append(scope.name)
        ordered = sorted(pools, key=lambda p: (len(p), p))
        per = math.ceil(len(ordered) / waves)
        chunks = [[n for p in ordered[i * per : (i + 1) * per] for n in pools[p]] for i in range(waves)]
    doc["migration"]["waves"] = [
        {
            "name": f"wave-{i + 1}",
            "scopes": chunk,
            "reset": True,
            "gate": {"min_registered_share": 0.95, "deadline": "30m"},
        }
        for i, chunk in enumerate(chunks)
        if chunk
    ]
    doc["policy"]["ris_queries_per_minute"] = ris_per_minute
    doc["policy"]["resets"] = {"start_per_second": 20.0, "ceiling_per_second": reset_ceiling}
    if pool_reset:
        doc["policy"]["resets"]["pool_level"] = "auto"
    return yaml.safe_dump(doc, sort_keys=False)


def set_ris_allowance(desired: Any, per_minute: int) -> None:
    """Lab setup, as an administrator would: AllowedDeviceQueriesPerMinute on both clusters (AXL)."""
    from providers.cucm_axl import AxlClient

    for cluster in desired.clusters:
        with AxlClient.connect(cluster) as axl:
            axl.update_service_parameter(
                node="EnterpriseWideData",
                service="Enterprise Wide",
                name="AllowedDeviceQueriesPerMinute",
                value=str(per_minute),
            )


# --- cheap round trips ------------------------------------------------------------------------------
def probes(desired: Any, conns: Any) -> dict[str, list[Callable[[], object]]]:
    """Per API, one cheap request per endpoint (called round-robin)."""
    from providers.cucm_certs import clients_for_cluster
    from providers.cucm_serviceability import TVS_SERVICE

    source, target = desired.cluster(desired.migration.source), desired.cluster(desired.migration.target)
    old_cli: list[Any] = [c.session for c in clients_for_cluster(source)]  # type: ignore[attr-defined]
    new_rest: list[Any] = list(clients_for_cluster(target))  # RestCertClient (14.0)
    ios = conns.dhcp(desired.dhcp.servers[0].name)._inner  # the unlocked IosDhcpBackend
    tftp_nodes = [(c.name, n.name) for c in (source, target) for n in c.nodes if "tftp" in n.services]

    def bind(fn: Callable[..., object], *args: object) -> Callable[[], object]:
        return lambda: fn(*args)

    return {
        AXL: [bind(lambda c: conns.axl(c).version(), c.name) for c in (source, target)],
        CONTROL: [
            bind(lambda c, n: conns.control(c, n).status(TVS_SERVICE), c.name, n.name)
            for c in (source, target)
            for n in c.nodes
        ],
        CERTMGR: [bind(lambda r: r.session.get(r.base + "/bench-probe"), r) for r in new_rest],
        TFTP: [bind(lambda c, n: conns.tftp(c, n).fetch("CTLFile.tlv"), c, n) for c, n in tftp_nodes],
        ADMIN_CLI: [bind(lambda s: s.run("show version active"), s) for s in old_cli],
        IOS: [lambda: ios._call("probe", lambda conn: conn.send_command("terminal length 0"))],
        RIS: [lambda: conns.ris(target.name).registrations(["SEPBENCHPROBE0"])],
    }


def measure_latency(
    desired: Any, *, concurrency: Mapping[str, int]
) -> tuple[dict[str, float], dict[str, float]]:
    """Median of one cheap round trip per API (idle), and the time per request when ``concurrency``
    of them run at once on different endpoints (what this 2-core machine can overlap)."""
    from providers.cucm_certs import clients_for_cluster
    from reconciler.wiring.connections import Connections

    conns = Connections(desired)
    single: dict[str, float] = {}
    loaded: dict[str, float] = {}
    try:
        table = probes(desired, conns)
        for api, calls in table.items():
            for call in calls[:3]:
                call()  # warm: connect, log in, TLS session
            runs = 3 if api == RIS else 9
            took = []
            for i in range(runs):
                t0 = time.perf_counter()
                calls[i % len(calls)]()
                took.append(time.perf_counter() - t0)
            single[api] = statistics.median(took)
            width = concurrency.get(api, 1)
            if api == RIS or width <= 1 or len(calls) < 2:
                loaded[api] = single[api] / max(1, min(width, len(calls)))
                continue
            width = min(width, len(calls))
            for call in calls[:width]:
                call()
            total = width * 6
            t0 = time.perf_counter()
            with ThreadPoolExecutor(max_workers=width) as pool:
                # one endpoint per worker, as the product does (an admin CLI session is one shell)
                rounds = total // width
                list(pool.map(lambda w, c=calls, k=rounds: [c[w]() for _ in range(k)], range(width)))
            loaded[api] = (time.perf_counter() - t0) / total
        # what the plan really sends to an 11.5 node: one certificate of CallManager-trust
        session: Any = clients_for_cluster(desired.cluster(desired.migration.source))[0]
        session = session.session  # the CliCertClient's CliSession
        first = next(e for e in session.cert_list("trust") if e.unit.startswith("CallManager"))
        took = []
        for _ in range(5):
            t0 = time.perf_counter()
            session.show_cert("trust", f"{first.unit}/{first.filename}")
            took.append(time.perf_counter() - t0)
        single["show cert"] = statistics.median(took)
        session.close()
    finally:
        conns.close()
    return single, loaded


# --- apply timing -----------------------------------------------------------------------------------
class StepClock:
    """ApplyHooks that record when each step starts and finishes (per address kind)."""

    def __init__(self) -> None:
        from reconciler.apply.hooks import ApplyHooks

        outer = self
        self.started: dict[str, float] = {}
        self.finished: dict[str, float] = {}
        self.status: dict[str, str] = {}
        self.polls: dict[str, int] = {}
        self.lock = threading.Lock()

        class Hooks(ApplyHooks):
            def step_started(self, *, change: Any, index: int, total: int, attempt: int) -> None:
                with outer.lock:
                    outer.started.setdefault(str(change.address), time.perf_counter())

            def step_finished(self, *, change: Any, outcome: Any) -> None:
                with outer.lock:
                    outer.finished[str(change.address)] = time.perf_counter()
                    outer.status[str(change.address)] = str(getattr(outcome, "status", ""))

            def wave_gate_progress(self, *, progress: Any) -> None:
                with outer.lock:
                    outer.polls[progress.wave] = progress.polls

        self.hooks = Hooks()

    def span(self, kinds: tuple[str, ...]) -> tuple[float, int]:
        keys = [k for k in self.started if k.split(".")[0] in kinds and k in self.finished]
        if not keys:
            return 0.0, 0
        return max(self.finished[k] for k in keys) - min(self.started[k] for k in keys), len(keys)

    def total_of(self, address: str) -> float:
        if address in self.started and address in self.finished:
            return self.finished[address] - self.started[address]
        return 0.0

    def span_of(self, prefix: str) -> float:
        """Wall time from the first start to the last finish of the steps whose address starts so."""
        keys = [k for k in self.started if k.startswith(prefix) and k in self.finished]
        return max(self.finished[k] for k in keys) - min(self.started[k] for k in keys) if keys else 0.0

    def total(self, kinds: tuple[str, ...]) -> float:
        return sum(
            self.finished[k] - self.started[k]
            for k in self.started
            if k.split(".")[0] in kinds and k in self.finished
        )


def _wave_span(steps: StepClock, wave_steps: list[Any], kind: str) -> float:
    keys = [str(st.address) for st in wave_steps if st.address.kind == kind]
    keys = [k for k in keys if k in steps.started and k in steps.finished]
    return max(steps.finished[k] for k in keys) - min(steps.started[k] for k in keys) if keys else 0.0


# --- the run ----------------------------------------------------------------------------------------
def allowed_concurrency(desired: Any, *, parallelism: int, nodes: int, tftp: int) -> dict[str, int]:
    """What the product may have in flight per API: per-endpoint limits × endpoints, capped by the
    executor/refresh ``--parallelism`` (the refresh nests one node pool per cluster: 2 × parallelism)."""
    conc = desired.policy.concurrency
    cap = 2 * parallelism
    return {
        AXL: min(conc.axl * 2, cap),
        RIS: min(conc.ris * 2, cap),
        CONTROL: min(nodes, cap),
        CERTMGR: min(nodes // 2, cap),
        TFTP: min(tftp, cap),
        ADMIN_CLI: min(conc.cli * (nodes // 2), cap),
        IOS: 1,  # one netmiko session per router (LockedDhcpBackend)
    }


def terms_json(terms: list[Any]) -> list[dict[str, Any]]:
    return [
        {
            "api": t.api,
            "round_trips": t.round_trips,
            "concurrency": t.concurrency,
            "latency_ms": t.latency * 1000,
            "allowance_s": t.allowance_seconds,
            "floor_s": t.seconds,
        }
        for t in terms
    ]


def counts_json(counts: Mapping[str, ApiCount]) -> dict[str, Any]:
    return {
        api: {
            "count": c.count,
            "busy_s": c.busy,
            "max_in_flight": c.max_in_flight,
            "by_cluster": c.by_cluster,
        }
        for api, c in sorted(counts.items())
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    from reconciler.apply.executor import ApplyOptions, Executor
    from reconciler.apply.retry import SystemClock
    from reconciler.config.loader import load
    from reconciler.plan.planner import PlanOptions, build_plan
    from reconciler.state.store import StateStore
    from reconciler.wiring.factory import ProviderWiring
    from reconciler.wiring.gates import gate_handler
    from simulator.lab.runtime import LabRuntime
    from simulator.spec import largest_estate

    out: dict[str, Any] = {"args": vars(args)}
    with tempfile.TemporaryDirectory(prefix="bench-plan-apply-") as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        runtime: Any
        if args.lab_in_process:
            runtime = LabRuntime(
                directory=work / "lab",
                spec=largest_estate(phones=args.phones, scopes=args.scopes),
                prefix=PREFIX,
                restart_duration=args.restart_seconds,
            ).start()
        else:
            runtime = LabProcess(
                directory=work / "lab",
                phones=args.phones,
                scopes=args.scopes,
                prefix=PREFIX,
                restart_seconds=args.restart_seconds,
            )
        out["lab_start_s"] = time.perf_counter() - t0
        out["rss_lab_mib"] = rss_mib() if args.lab_in_process else runtime.peak_rss_mib()
        cpu0 = time.process_time()
        try:
            path = work / "estate.yaml"
            path.write_text(
                desired_yaml(
                    runtime,
                    waves=args.waves,
                    ris_per_minute=args.ris_per_minute,
                    reset_ceiling=args.reset_ceiling,
                    pool_reset=args.pool_reset,
                )
            )
            loaded = load(path)
            assert loaded.state is not None and loaded.ok, [d.summary for d in loaded.diagnostics]
            desired = loaded.state
            set_ris_allowance(desired, args.ris_per_minute)
            hosts = {n.ip: c.name for c in runtime.spec.clusters for n in c.nodes}
            meter = Meter(cluster_of_host=lambda h: hosts.get(h, "dhcp"))
            meter.install()
            if args.progress:
                threading.Thread(target=_progress, args=(meter, args.progress), daemon=True).start()
            nodes = sum(len(c.nodes) for c in desired.clusters)
            tftp = sum(1 for c in desired.clusters for n in c.nodes if "tftp" in n.services)
            conc = allowed_concurrency(desired, parallelism=args.parallelism, nodes=nodes, tftp=tftp)
            single, loaded_lat = measure_latency(desired, concurrency=conc)
            out["show_cert_ms"] = single.pop("show cert") * 1000
            out["latency_ms"] = {k: v * 1000 for k, v in single.items()}
            out["loaded_ms"] = {k: v * 1000 for k, v in loaded_lat.items()}
            out["concurrency"] = conc
            print(
                f"latency (ms): {out['latency_ms']}\nunder load (ms/request): {out['loaded_ms']}", flush=True
            )
            time.sleep(61.0 if args.ris_per_minute < 30 else 5.0)  # the probe's RisPort70 queries age out

            os.chdir(work)
            store = StateStore(Path(".reconciler"))
            digest = "bench"
            before = meter.snapshot()
            meter.reset_peaks()
            runs: list[float] = []
            cpus: list[float] = []
            counts = {}
            for attempt in range(max(1, args.plan_runs)):
                if attempt:
                    time.sleep(61.0)  # the previous plan's RisPort70 queries age out of the allowance
                    before = meter.snapshot()
                profiler = ThreadProfiles() if args.profile and not attempt else None
                if profiler is not None:
                    profiler.start()
                t0 = time.perf_counter()
                cpu_plan = time.process_time()
                with ProviderWiring().open_estate(desired, parallelism=args.parallelism) as estate:
                    plan = build_plan(
                        desired=desired,
                        desired_path=str(path),
                        desired_sha256=digest,
                        estate=estate,
                        state=store.read(),
                        options=PlanOptions(parallelism=args.parallelism),
                    )
                runs.append(time.perf_counter() - t0)
                cpus.append(time.process_time() - cpu_plan)
                if profiler is not None:
                    args.profile.write_text(profiler.stop())
                print(f"plan run {attempt + 1}: {runs[-1]:.1f} s", flush=True)
                if attempt == 0:
                    counts = meter.since(before)
            out["plan_runs_s"] = runs
            out["plan_s"] = statistics.median(runs)
            out["plan_client_cpu_s"] = statistics.median(cpus)
            out["rss_after_plan_mib"] = rss_mib()
            terms = floor_terms(counts, latency=single, concurrency=conc, ris_per_minute=args.ris_per_minute)
            loaded_terms = floor_terms(
                counts,
                latency=loaded_lat,
                concurrency={k: 1 for k in conc},
                ris_per_minute=args.ris_per_minute,
            )
            out["plan_counts"] = counts_json(counts)
            out["plan_floor"] = terms_json(terms)
            out["plan_floor_s"] = sum(t.seconds for t in terms)
            out["plan_machine_floor_s"] = sum(t.seconds for t in loaded_terms)
            out["plan_steps"] = len(plan.steps)
            out["plan_errored"] = plan.errored
            out["plan_forecast"] = [
                {"wave": f.wave, "phones": f.phones, "move": f.move, "stranded": f.stranded}
                for f in plan.forecast
            ]
            print(
                json.dumps({k: out[k] for k in ("plan_s", "plan_floor_s", "plan_machine_floor_s")}),
                flush=True,
            )
            print(json.dumps(out["plan_counts"], indent=1), flush=True)
            if plan.errored:
                out["plan_diagnostics"] = [f"{d.rule}: {d.summary}" for d in plan.diagnostics][:10]
                print(out["plan_diagnostics"], flush=True)
            if not args.no_apply and not plan.errored:
                out.update(run_apply(args, desired=desired, path=path, store=store, meter=meter, conc=conc,
                                     single=single, runtime=runtime, deps=(
                                         gate_handler, ProviderWiring(), ApplyOptions, Executor, PlanOptions,
                                         build_plan, SystemClock)))  # fmt: skip
            out["client_cpu_s"] = time.process_time() - cpu0
        finally:
            os.chdir(ROOT)
            if not args.lab_in_process:
                out["rss_lab_peak_mib"] = runtime.peak_rss_mib()
            runtime.stop()
    out["rss_peak_mib"] = rss_mib()
    return out


def _count_batches(*, stop: bool = False) -> list[tuple[str, int, float, float]]:
    """Record every ``apply_batch`` the registry's DHCP providers get (endpoint, changes, start, end):
    the measured number of batches, not the one the plan implies."""
    from reconciler.wiring import registry as reg

    cls: Any = reg._LazyBatch
    if stop:
        if hasattr(cls, "_bench_original"):
            cls.apply_batch = cls._bench_original
            del cls._bench_original
        return []
    calls: list[tuple[str, int, float, float]] = []
    original = cls.apply_batch
    cls._bench_original = original

    def apply_batch(self: Any, changes: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(self, changes)
        finally:
            calls.append((str(getattr(self, "endpoint", "")), len(changes), start, time.perf_counter()))

    cls.apply_batch = apply_batch
    return calls


def run_apply(
    args: argparse.Namespace,
    *,
    desired: Any,
    path: Path,
    store: Any,
    meter: Meter,
    conc: Mapping[str, int],
    single: Mapping[str, float],
    runtime: Any,
    deps: tuple[Any, ...],
) -> dict[str, Any]:
    gate_handler, world, apply_options, executor_cls, plan_options, build_plan, system_clock = deps
    from reconciler.plan.cost import LAB, ris_devices_per_query, wave_cost
    from reconciler.plan.poolreset import PoolResetPlan

    out: dict[str, Any] = {}
    cancel = threading.Event()
    clock = system_clock(cancel=cancel)
    steps = StepClock()
    before = meter.snapshot()
    t0 = time.perf_counter()
    batch_calls = _count_batches()
    wiring = world.open_apply(desired, state_dir=store.directory, parallelism=args.parallelism)
    try:
        plan = build_plan(
            desired=desired,
            desired_path=str(path),
            desired_sha256="bench",
            estate=wiring.estate,
            state=store.read(),
            options=plan_options(parallelism=args.parallelism),
        )
        out["apply_plan_s"] = time.perf_counter() - t0
        registry = dict(wiring.registry)
        registry["ris"] = gate_handler(plan, desired, wiring.estate, clock=clock, cancel=cancel)
        executor = executor_cls(
            registry=registry,
            store=store,
            hooks=steps.hooks,
            clock=clock,
            cancel=cancel,
            options=apply_options.from_policy(desired.policy, parallelism=args.parallelism),
        )
        t1 = time.perf_counter()
        cpu1 = time.process_time()
        report = executor.apply(plan, command="bench_plan_apply")
        out["apply_execute_client_cpu_s"] = time.process_time() - cpu1
        out["apply_execute_s"] = time.perf_counter() - t1
        out["step_attempts"] = {
            str(o.address): o.attempts for o in report.outcomes if o.address.kind in ("option150", "reset")
        }
        out["reset_details"] = {
            str(o.address): o.detail for o in report.outcomes if o.address.kind == "reset"
        }
        resets = [q for p in registry.values() for q in getattr(p, "by_kind", {}).values()]
        out["reset_pacing"] = {k: v for q in resets if hasattr(q, "pacing") for k, v in q.pacing().items()}
    finally:
        wiring.close()
        _count_batches(stop=True)
    out["apply_total_s"] = time.perf_counter() - t0
    # what the DHCP providers were really handed: one apply_batch per call (endpoint, steps, seconds)
    out["option150_batch_calls"] = [
        {"endpoint": e, "steps": n, "start_s": round(a - t0, 2), "seconds": round(b - a, 3)}
        for e, n, a, b in batch_calls
    ]
    out["apply_ok"] = report.ok
    out["apply_status"] = str(report.status)
    counts = meter.since(before)
    out["apply_counts"] = counts_json(counts)
    out["trust_tvs_s"], out["trust_tvs_steps"] = steps.span(("trust", "replication", "tvs"))
    out["tvs_restarts"] = sum(1 for k in steps.started if k.startswith("tvs."))
    out["option150_s"], out["option150_steps"] = steps.span(("option150",))
    out["reset_total_s"] = steps.total(("reset",))
    out["gate_total_s"] = steps.total(("gate",))
    out["gate_polls"] = dict(steps.polls)
    out["failed_steps"] = [k for k, v in steps.status.items() if v in ("failed", "skipped")]
    # option 150 floor: per wave and DHCP server one batch = 5 IOS round trips (read, configuration
    # session, write memory, read-back, verify) on the one session a router allows, write memory included
    wave_steps = {w.name: [st for st in plan.steps if st.wave == w.name] for w in desired.migration.waves}
    batches = sum(
        len({st.endpoint for st in ws if st.address.kind == "option150"}) for ws in wave_steps.values()
    )
    out["option150_batches"] = batches
    out["option150_floor_s"] = batches * 5 * single[IOS]
    # resets floor: the phones each wave resets at the policy's ceiling
    # (phones a pool-level reset covers cost no per-phone call: the floor counts only the others)
    ceiling = float(desired.policy.resets.ceiling_per_second)
    pooled = {
        str(st.wave): PoolResetPlan.from_dict(st.change.after.get("resets"))
        for st in plan.steps
        if st.address.kind == "reset" and isinstance(st.change.after, Mapping)
    }
    moving = {f.wave: f.pending - (p.pool_phones if (p := pooled.get(f.wave)) else 0) for f in plan.forecast}
    out["reset_ceiling_per_s"] = ceiling
    pool_calls = sum(len(p.pools) for p in pooled.values() if p is not None)
    out["reset_pool_calls"] = pool_calls
    # a pool-level reset: the re-check (listDevicePool, the pool's devices) and resetDevicePool, in turn
    out["reset_floor_s"] = sum(moving.values()) / ceiling + pool_calls * 3 * single[AXL]
    out["pool_resets"] = {f.wave: f.resets for f in plan.forecast if f.resets}
    per_wave = {
        w: {
            "option150_s": _wave_span(steps, ws, "option150"),
            "resets_s": steps.total_of(f"reset.{w}"),
            "gate_s": steps.total_of(f"gate.{w}"),
            "forecast_cost": dict(f.cost or {}),
            "lab_cost": wave_cost(
                option150_servers=[st.address.parts[1] for st in ws if st.address.kind == "option150"],
                server_kinds={str(d.name): str(d.kind) for d in desired.dhcp.servers},
                phones_to_move=f.pending,
                phones_in_wave=f.phones,
                policy=desired.policy,
                calibration=LAB,
                devices_per_query=ris_devices_per_query(desired),
                reset_pools=len(p.pools) if (p := pooled.get(w)) else 0,
                pool_phones=p.pool_phones if (p := pooled.get(w)) else 0,
            ),
        }
        for w, ws in wave_steps.items()
        for f in plan.forecast
        if f.wave == w
    }
    out["per_wave"] = per_wave
    out["option150_timeline"] = {  # per wave: each option150 step's start and finish, from the first start
        w: sorted(
            (round(steps.started[k] - first, 2), round(steps.finished.get(k, first) - first, 2)) for k in keys
        )
        for w, ws in wave_steps.items()
        if (
            keys := [
                str(st.address)
                for st in ws
                if st.address.kind == "option150" and str(st.address) in steps.started
            ]
        )
        for first in [min(steps.started[k] for k in keys)]
    }
    out["option150_s"] = sum(m["option150_s"] for m in per_wave.values())  # the waves' own spans
    # wave verification floor: ⌈wave phones ÷ 1,000⌉ queries per wave, at the allowance, on the target
    waves = {w.name: w.scopes for w in desired.migration.waves}
    per_scope = {s.name: s.phones for s in runtime.spec.scopes}
    queries = sum(math.ceil(sum(per_scope[s] for s in scopes) / RIS_CAP) for scopes in waves.values())
    allowance_floor = queries / args.ris_per_minute * 60.0
    latency_floor = queries * single[RIS] / max(1, desired.policy.concurrency.ris)
    out["gate_queries_needed"] = queries
    out["gate_floor_s"] = max(allowance_floor, latency_floor)
    # trust/TVS floor: the rolling restarts are serial (R8): restart time per restarted node, plus the
    # uploads' and checks' round trips at the measured latency (counted in the apply's requests)
    out["trust_tvs_floor_s"] = out["tvs_restarts"] * args.restart_seconds
    out["rss_after_apply_mib"] = rss_mib()
    phones = runtime.phones()
    out["phones_on_target"] = sum(1 for p in phones if p["cluster"] == "new" and p["status"] == "Registered")
    out["phones_total"] = len(phones)
    print(json.dumps({k: v for k, v in out.items() if k != "apply_counts"}, indent=1), flush=True)
    print(json.dumps(out["apply_counts"], indent=1), flush=True)
    return out


def _progress(meter: Meter, every: float) -> None:
    """Print the request counts every ``every`` seconds (``--progress``), to see where time goes."""
    began = time.perf_counter()
    while True:
        time.sleep(every)
        counts = {api: c.count for api, c in sorted(meter.snapshot().items())}
        print(
            f"[{time.perf_counter() - began:6.0f} s] requests so far: {counts}", file=sys.stderr, flush=True
        )


# --- report -----------------------------------------------------------------------------------------
def section(r: dict[str, Any]) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    a = r["args"]
    ratio = r["plan_s"] / r["plan_floor_s"]
    runs = r.get("plan_runs_s") or [r["plan_s"]]
    calls = r.get("reset_pool_calls")
    pooled_note = f"; {calls} pool-level resets" if calls else ""
    plan_runs = (
        f"median of {len(runs)}: "
        + ", ".join(f"{x:.0f}" if x >= 20 else f"{x:.1f}" for x in sorted(runs))
        + " s"
        if len(runs) > 1
        else "one run"
    )
    lines = [
        START,
        "## Plan and apply on the largest estate (`bench/bench_plan_apply.py`)",
        "",
        f"Measured {when} on {platform.machine()} ({os.cpu_count()} CPUs visible, shared), Python "
        f"{platform.python_version()}. "
        + (
            f"Lab in the bench's own process (`LabRuntime`, prefix {PREFIX}, `--lab-in-process`): "
            if a.get("lab_in_process")
            else f"Lab in its own process (`reconciler lab up --spec --detach`, prefix {PREFIX}; it "
            "shares the 2 cores, not the interpreter lock): "
        )
        + "2 × 21 nodes, "
        f"{a['phones']:,} phones in {a['scopes']:,} IOS scopes, 500 certificates per trust store; "
        f"{a['waves']} waves; RisPort70 allowance {a['ris_per_minute']}/min in the lab and in the policy; "
        f"TVS restarts take {a['restart_seconds']:g} s; `--parallelism {a['parallelism']}`.",
        "",
        "| what | measured | floor | ratio | target |",
        "|---|---|---|---|---|",
        f"| **plan** ({plan_runs}) | {r['plan_s']:.1f} s | {r['plan_floor_s']:.1f} s | **{ratio:.2f}×** "
        f"| ≤ 1.5× {'(met)' if ratio <= 1.5 else '(missed)'} |",
    ]
    if "apply_total_s" in r:
        gate_ratio = r["gate_total_s"] / r["gate_floor_s"]
        lines += [
            f"| apply: trust, replication, {r['tvs_restarts']} rolling TVS restarts | "
            f"{r['trust_tvs_s']:.1f} s | {r['trust_tvs_floor_s']:.1f} s (restarts alone) | "
            f"{r['trust_tvs_s'] / max(r['trust_tvs_floor_s'], 1e-9):.2f}× | — |",
            f"| **apply: option 150** ({r['option150_steps']} scopes in {r['option150_batches']} batches) | "
            f"{r['option150_s']:.1f} s | {r['option150_floor_s']:.1f} s | "
            f"**{r['option150_s'] / max(r['option150_floor_s'], 1e-9):.2f}×** | ≤ 1.5× "
            f"{'(met)' if r['option150_s'] <= 1.5 * r['option150_floor_s'] else '(missed)'} |",
            f"| **apply: resets** (sum over waves, ceiling {r['reset_ceiling_per_s']:g}/s{pooled_note}) | "
            f"{r['reset_total_s']:.1f} s | {r['reset_floor_s']:.1f} s | "
            f"**{r['reset_total_s'] / max(r['reset_floor_s'], 1e-9):.2f}×** | ≤ 1.2× "
            f"{'(met)' if r['reset_total_s'] <= 1.2 * r['reset_floor_s'] else '(missed)'} |",
            f"| **apply: wave verification** ({r['gate_queries_needed']} RisPort70 queries needed) | "
            f"{r['gate_total_s']:.1f} s | {r['gate_floor_s']:.1f} s | **{gate_ratio:.2f}×** | ≤ 1.2× "
            f"{'(met)' if gate_ratio <= 1.2 else '(missed)'} |",
            f"| apply in total (its own plan {r['apply_plan_s']:.1f} s included) | "
            f"{r['apply_total_s']:.1f} s | "
            f"— | — | — |",
        ]
    if "rss_lab_peak_mib" in r:
        memory = (
            f"| peak RSS of reconciler (the lab's own process: {r['rss_lab_peak_mib']:.0f} MiB) | "
            f"**{r['rss_peak_mib']:.0f} MiB** | — | — | < 1 GiB "
        )
    else:
        memory = (
            f"| peak RSS of the process (lab included; lab alone {r['rss_lab_mib']:.0f} MiB) | "
            f"**{r['rss_peak_mib']:.0f} MiB** | — | — | < 1 GiB "
        )
    lines += [
        memory + f"{'(met)' if r['rss_peak_mib'] < 1024 else '(missed)'} |",
        "",
        "Plan round trips per API (counted by wrapping the transports) and the floor's terms "
        "(round trips ÷ allowed concurrency × one cheap round trip; RisPort70 also ≥ queries ÷ allowance):",
        "",
        "| API | round trips | allowed concurrency | cheap round trip | under load, per request "
        "| floor term |",
        "|---|---|---|---|---|---|",
    ]
    for t in r["plan_floor"]:
        loaded = r["loaded_ms"].get(t["api"], float("nan"))
        lines.append(
            f"| {t['api']} | {t['round_trips']:,} | {t['concurrency']} | {t['latency_ms']:.1f} ms | "
            f"{loaded:.1f} ms | {t['floor_s']:.1f} s |"
        )
    lines += [
        "",
        f"With the per-request time measured under load at the allowed concurrency (what this machine "
        f"can overlap), the plan's floor would be {r['plan_machine_floor_s']:.1f} s "
        f"(ratio {r['plan_s'] / r['plan_machine_floor_s']:.2f}×).",
    ]
    if "apply_total_s" not in r:
        lines += [
            "",
            "Apply was not measured in this run (`--no-apply`): trust/TVS and wave-verification times, "
            "floors and ratios are still to be recorded.",
        ]
    if "per_wave" in r:
        lines += [
            "",
            "The plan's cost model (`reconciler/plan/cost.py`) against what apply measured, per wave and "
            "phase (seconds, plan's estimate / the model with the lab's `write memory` and re-registration "
            "(`LAB`) / measured; the plan's estimate keeps real-system values for those two):",
            "",
            "| wave | option 150 | resets | gate | total of the three |",
            "|---|---|---|---|---|",
        ]
        for wave, m in r["per_wave"].items():
            c, lab = m["forecast_cost"], m.get("lab_cost", {})
            measured = {
                "option150": m["option150_s"],
                "resets": m["resets_s"],
                "gate": m["gate_s"],
                "total": m["option150_s"] + m["resets_s"] + m["gate_s"],
            }
            cells = [
                f"{c.get(f'{k}_seconds', 0):.1f} / {lab.get(f'{k}_seconds', 0):.1f} / {v:.1f}"
                for k, v in measured.items()
            ]
            lines.append(f"| {wave} | " + " | ".join(cells) + " |")
        calls = r.get("option150_batch_calls") or []
        if calls:
            sizes = ", ".join(f"{c['steps']} pools in {c['seconds']:.2f} s" for c in calls)
            lines += [
                "",
                f"Option 150 batches as the DHCP provider received them ({len(calls)} `apply_batch` "
                f"calls): {sizes}.",
            ]
    if "apply_total_s" in r:
        lines += [
            "",
            f"Apply moved {r['phones_on_target']:,} of {r['phones_total']:,} phones "
            "(Registered on the target); "
            f"gate polls per wave: {r['gate_polls']}.",
        ]
        if r.get("pool_resets"):
            lines += ["", "How each wave's phones were reset (the plan's words):", ""]
            lines += [f"- `{k}`: {v}" for k, v in sorted(r["pool_resets"].items())]
        if r.get("reset_pacing"):
            lines += ["", "Reset pacing per wave (the reset step's own words):", ""]
            lines += [f"- `{k}`: {v}" for k, v in sorted(r["reset_pacing"].items())]
    lines += ["", *findings(r), END]
    return "\n".join(lines)


def findings(r: dict[str, Any]) -> list[str]:
    """Where the plan's time goes, from the counts (the same text whatever the size)."""
    counts = r["plan_counts"]
    cli = counts.get(ADMIN_CLI, {})
    ris = counts.get(RIS, {})
    ris_term = next((t for t in r["plan_floor"] if t["api"] == RIS), None)
    lines = [
        "Where the plan's time goes:",
        "",
        f"- The critical path is RisPort70: {ris.get('count', 0):,} paced queries (1,000 devices each on "
        f"the 11.5 source, 2,000 on the 14.0 target), "
        + (f"at least {ris_term['allowance_s']:.0f} s at the allowance; " if ris_term else "")
        + "the refresh starts them first and runs every other read beside them (AXL phone → device "
        "pool listings of both clusters, the admin CLI and certmgr trust reads, TFTP files). The "
        "target's complete listing also answers the registration read that follows it.",
        f"- The admin CLI of the 11.5 source: {cli.get('count', 0):,} commands — `show cert list trust` "
        "per node and one `show cert trust <file>` per distinct certificate per cluster (each shell "
        "starts at a different place in the listing and shares what it read; `providers/cucm_certs/"
        "cli.py`), every node's own listing still deciding what it holds (R7).",
    ]
    if "plan_client_cpu_s" in r:
        lines.append(
            f"- reconciler's own CPU during the plan: {r['plan_client_cpu_s']:.1f} s of "
            f"{r['plan_s']:.1f} s (SOAP parsing of the phone listings, SSH packet handling, the "
            "forecast); the rest is waiting on the lab and the allowance."
        )
    return lines


def write(text: str, *, label: str = "") -> None:
    start, end = _markers(label)
    write_section(text, start=start, end=end, doc=DOC)


def _markers(label: str) -> tuple[str, str]:
    """The section's markers: the full-size one, or ``--label``'s own (a reduced-size run)."""
    if not label:
        return START, END
    return f"<!-- bench_plan_apply_{label}:begin -->", f"<!-- bench_plan_apply_{label}:end -->"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phones", type=int, default=80_000)
    parser.add_argument("--scopes", type=int, default=1_000)
    parser.add_argument("--waves", type=int, default=4)
    parser.add_argument("--ris-per-minute", type=int, default=60)
    parser.add_argument("--restart-seconds", type=float, default=0.5)
    parser.add_argument("--parallelism", type=int, default=4)
    parser.add_argument(
        "--lab-in-process",
        action="store_true",
        help="run the lab inside the bench's process (shares its interpreter lock; the old way)",
    )
    parser.add_argument(
        "--plan-runs", type=int, default=3, help="plan this many times; the median is recorded"
    )
    parser.add_argument("--no-apply", action="store_true")
    parser.add_argument(
        "--profile",
        type=Path,
        help="cProfile every thread during the first plan run and write the summary here",
    )
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--progress", type=float, default=0.0, help="print request counts every N s")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument("--reset-ceiling", type=float, default=200.0, help="policy.resets.ceiling_per_second")
    parser.add_argument(
        "--pool-reset",
        action="store_true",
        help="waves of whole device pools and policy.resets.pool_level: auto (one resetDevicePool a pool)",
    )
    parser.add_argument(
        "--label",
        default="",
        help="write a separate, labelled section (e.g. reduced-2000) instead of the full-size one",
    )
    args = parser.parse_args()
    # a killed bench still stops its lab (the `finally` in run): SIGTERM becomes SystemExit
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    result = run(args)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1, default=str))
    text = section(result)
    if args.label:
        start, end = _markers(args.label)
        argv = sys.argv[1:]
        if "--json" in argv:  # a path of this machine: not for the docs
            at = argv.index("--json")
            argv = argv[:at] + argv[at + 2 :]
        command = "python bench/bench_plan_apply.py " + " ".join(argv)
        text = (
            text.replace(START, start, 1)
            .replace(END, end, 1)
            .replace(
                "## Plan and apply on the largest estate",
                f"### Reduced size ({args.label}): plan and apply",
                1,
            )
            .replace("2 × 21 nodes, ", f"`{command}`; 2 × 21 nodes, ", 1)
        )
    print(text)
    if not args.no_write:
        write(text, label=args.label)


if __name__ == "__main__":
    main()
