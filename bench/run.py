"""turnout's benchmarks: every target a ratio against an anchor measured in the same run.

    .venv/bin/python bench/run.py [--quick] [--only P1,P2,P3,P6,P7]

Sets up everything in a temporary folder (models trained on scikit-learn's bundled
breast-cancer data, an MLflow SQLite store, a control DB, `turnout serve` processes and
the anchors), prints a table, and writes bench/results/latest.{json,md} (a --quick
smoke run writes bench/results/quick.{json,md}). See bench/README.md and
docs/benchmarks.md for what each section measures.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import harness
import p1_latency
import p2_throughput
import p3_telemetry
import p6_propagation
import p7_hotswap
import report
from harness import CLIENT_CPU, SERVER_CPU, Deployment, Server, Servers

SECTIONS = ("P1", "P2", "P3", "P6", "P7")
PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def say(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


@contextlib.contextmanager
def step(name: str, timings: dict[str, float]) -> Iterator[None]:
    say(f"-- {name} ...")
    t0 = time.monotonic()
    try:
        yield
    finally:
        timings[name] = round(time.monotonic() - t0, 1)
        say(f"   {name}: {timings[name]:.1f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run (under ~60 s)")
    parser.add_argument("--only", default=",".join(SECTIONS), help="sections, e.g. P1,P2")
    parser.add_argument(
        "--mlserver",
        choices=("auto", "yes", "no"),
        default="auto",
        help="MLServer as a second P2 anchor (auto: full runs only)",
    )
    parser.add_argument(
        "--postgres",
        choices=("auto", "no"),
        default="auto",
        help="also run P6 on a throwaway PostgreSQL database at 127.0.0.1:5432 "
        "(auto: full runs, when reachable)",
    )
    parser.add_argument(
        "--wait-idle",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="first wait up to SECONDS for the machine to be idle (other work under 15%% "
        "of the CPUs over 2 s)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument(
        "--results", type=Path, default=harness.BENCH / "results", help="output folder"
    )
    args = parser.parse_args(argv)
    only = {s.strip().upper() for s in args.only.split(",") if s.strip()}
    unknown = only - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    quick: bool = args.quick
    full = not quick

    busy = report.cpu_busy(2.0)
    deadline = time.monotonic() + args.wait_idle
    said = 0.0
    while busy is not None and busy > 0.15 and time.monotonic() < deadline:
        if time.monotonic() - said >= 60:
            say(f"waiting for an idle machine: {busy:.0%} of the CPUs busy with other work")
            said = time.monotonic()
        busy = report.cpu_busy(2.0)
    started = time.monotonic()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    load_start = report.loadavg()
    pinned = harness.can_pin()
    pinning = (
        f"servers under test on core {SERVER_CPU} once ready (every thread, as taskset -a -p "
        f"-c {SERVER_CPU} does), this process "
        f"and its load clients on core {CLIENT_CPU}; P6's second replica unpinned"
        if pinned
        else "none (taskset missing or fewer than 2 CPUs)"
    )
    root = Path(tempfile.mkdtemp(prefix="turnout-bench-"))
    (root / "logs").mkdir()
    servers = Servers(root / "logs")
    timings: dict[str, float] = {}
    results: dict[str, Any] = {}
    notes: list[str] = []
    rows: list[list[str]] = []
    failed: list[str] = []
    say(f"turnout benchmarks ({'quick' if quick else 'full'}): {', '.join(sorted(only))}")
    say(f"work folder {root}; pinning: {pinning}")
    say(f"load average {load_start}; CPUs busy with other work before the run: {busy}")

    def section(name: str, fn: Callable[[], None]) -> None:
        if name not in only:
            return
        try:
            with step(name, timings):
                fn()
        except Exception as exc:
            failed.append(name)
            results[name] = {"error": f"{type(exc).__name__}: {exc}"}
            say(traceback.format_exc())

    dep: Deployment | None = None
    try:
        need_http = bool(only & {"P1", "P2", "P6", "P7"})
        with step("setup", timings):
            # Servers start as early as their inputs exist and import their libraries in
            # parallel with the rest of the setup; each is pinned once it is ready.
            spawned: dict[str, Server] = {}
            setup_t: dict[str, float] = {}
            t0 = time.monotonic()
            if "P1" in only:
                spawned["hello"] = harness.spawn_hello(servers, cpu=SERVER_CPU)
            models = harness.build_models(root / "models")
            setup_t["models"] = time.monotonic() - t0
            gbt_contrast = full and bool(only & {"P1", "P2"})
            if "P2" in only:
                mdir = harness.save_mlflow_model(models.lr_onnx, root / "mlflow-model-lr")
                spawned["mlflow"] = harness.spawn_mlflow_serve(
                    servers, root, mdir, "mlflow-serve", cpu=SERVER_CPU
                )
                if gbt_contrast:
                    gdir = harness.save_mlflow_model(models.gbt_onnx, root / "mlflow-model-gbt")
                    spawned["mlflow_gbt"] = harness.spawn_mlflow_serve(
                        servers, root, gdir, "mlflow-serve-gbt", cpu=SERVER_CPU
                    )
                want_mlserver = args.mlserver == "yes" or (args.mlserver == "auto" and full)
                if want_mlserver:
                    cache = Path(tempfile.gettempdir()) / "turnout-bench-cache"
                    cache.mkdir(exist_ok=True)
                    python, note = harness.mlserver_venv(cache)
                    notes.append(f"MLServer: {note}")
                    if python is not None:
                        spawned["mlserver"] = harness.spawn_mlserver(
                            servers, python, models, root, cpu=SERVER_CPU
                        )
                elif args.mlserver == "auto":
                    notes.append("MLServer anchor skipped in a quick run.")
                setup_t["anchors"] = time.monotonic() - t0
            dep = Deployment.create(root / "deploy")
            if need_http or ("P3" in only and full):
                v1 = dep.register("bc", models.lr_onnx, models.reference)
                if only & {"P6", "P7"}:
                    dep.register("bc", models.lr2_onnx, models.reference)  # v2
                    dep.register("bc", models.gbt_onnx, models.reference)  # v3
                dep.promote("bc", v1)
                if gbt_contrast:
                    dep.promote("bc-gbt", dep.register("bc-gbt", models.gbt_onnx, None))
                setup_t["registered"] = time.monotonic() - t0
            if need_http:
                spawned["gateway"] = harness.spawn_gateway(servers, dep, "gateway", cpu=SERVER_CPU)
            if "P6" in only:
                spawned["replica_b"] = harness.spawn_gateway(servers, dep, "gateway-b", cpu=None)
            if "P3" in only and full:
                spawned["variant_stock"] = harness.spawn_gateway_variant(
                    servers, dep, "gateway-variant-stock", "none", cpu=SERVER_CPU
                )
                spawned["variant_notel"] = harness.spawn_gateway_variant(
                    servers, dep, "gateway-variant-no-telemetry", "no-telemetry", cpu=SERVER_CPU
                )
                spawned["variant_nolog"] = harness.spawn_gateway_variant(
                    servers,
                    dep,
                    "gateway-variant-no-prediction-log",
                    "none",
                    cpu=SERVER_CPU,
                    extra_env={"TURNOUT_LOG_PREDICTIONS": "false"},
                )
            ok, bad = servers.wait_all(list(spawned.values()))
            names = {id(v): k for k, v in spawned.items()}
            ready: dict[str, Server] = {names[id(srv)]: srv for srv in ok}
            for srv, exc in bad:
                if names[id(srv)] != "mlserver":
                    raise exc
                # An optional anchor: skip it and say why.
                notes.append(f"MLServer did not start: {str(exc).splitlines()[0]}")
            setup_t["servers_ready"] = time.monotonic() - t0
            results["setup_s"] = {k: round(v, 1) for k, v in setup_t.items()}
            results["startup_s"] = {s.name: s.started_in_s for s in ready.values()}
            harness.pin_self(CLIENT_CPU)
            time.sleep(0.5 if quick else 2.0)  # let start-up work (first polls, GC) settle
        row = models.row

        def p1() -> None:
            r = p1_latency.run(
                models,
                ready["gateway"],
                ready["hello"],
                quick=quick,
                gbt_model="bc-gbt" if gbt_contrast else None,
            )
            results["P1"] = r
            rows.extend(p1_latency.rows(r))
            if "P2" not in only or quick:
                servers.stop(ready["hello"])

        def p2() -> None:
            mls = ready.get("mlserver")
            r = p2_throughput.run(
                gateway_port=ready["gateway"].port,
                mlflow_port=ready["mlflow"].port,
                oip_body=harness.oip_body(row),
                inv_body=harness.invocations_body(row),
                mlserver=(mls.port, harness.oip_body(row, name="input-0")) if mls else None,
                gbt=(ready["mlflow_gbt"].port, "bc-gbt") if "mlflow_gbt" in ready else None,
                hello_port=ready["hello"].port if "hello" in ready and full else None,
                quick=quick,
            )
            results["P2"] = r
            rows.extend(p2_throughput.rows(r))
            for key in ("mlflow", "mlflow_gbt", "mlserver", "hello"):
                if key in ready:
                    servers.stop(ready[key])

        def p3() -> None:
            r = p3_telemetry.measure(quick)
            if full and "variant_stock" in ready:
                r["end_to_end"] = p3_telemetry.end_to_end(
                    {
                        "stock": ready["variant_stock"].port,
                        "no_telemetry": ready["variant_notel"].port,
                        "no_prediction_log": ready["variant_nolog"].port,
                    },
                    harness.oip_body(row),
                )
                for key in ("variant_stock", "variant_notel", "variant_nolog"):
                    servers.stop(ready[key])
            results["P3"] = r
            rows.extend(p3_telemetry.rows(r))

        def p6() -> None:
            assert dep is not None
            replicas = [ready["gateway"], ready["replica_b"]]
            r = p6_propagation.run(dep, replicas, row, quick=quick)
            results["P6"] = {"sqlite": r}
            rows.extend(p6_propagation.rows(r, "SQLite"))
            servers.stop(ready["replica_b"])
            if full and args.postgres == "auto":
                results["P6"]["postgres"] = p6_postgres(dep, servers, row)
                if results["P6"]["postgres"] is None:
                    notes.append("P6 on PostgreSQL skipped: 127.0.0.1:5432 not reachable.")
                else:
                    rows.extend(p6_propagation.rows(results["P6"]["postgres"], "PostgreSQL"))

        def p7() -> None:
            assert dep is not None
            r = p7_hotswap.run(dep, ready["gateway"], row, quick=quick)
            results["P7"] = r
            rows.extend(p7_hotswap.rows(r))

        section("P1", p1)
        section("P2", p2)
        section("P3", p3)
        section("P6", p6)
        section("P7", p7)
    finally:
        servers.stop_all()
        if dep is not None:
            dep.close()
        if args.keep:
            say(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)

    elapsed = time.monotonic() - started
    doc = {
        "quick": quick,
        "sections": sorted(only),
        "started_at": started_at,
        "elapsed_s": round(elapsed, 1),
        "command": " ".join([".venv/bin/python bench/run.py", *(argv or sys.argv[1:])]),
        "pinning": pinning,
        "loadavg_start": load_start,
        "cpu_busy_before": busy,
        "loadavg_end": report.loadavg(),
        "machine": report.machine(harness.ROOT),
        "timings_s": timings,
        "notes": notes,
        "failed_sections": failed,
        "table": [dict(zip(report.HEADER, r, strict=True)) for r in rows],
        "results": results,
    }
    args.results.mkdir(parents=True, exist_ok=True)
    stem = "quick" if quick else "latest"
    partial = only != set(SECTIONS)
    if partial:
        stem += "-" + "-".join(sorted(only)).lower()
    (args.results / f"{stem}.json").write_text(json.dumps(doc, indent=2, default=str) + "\n")
    (args.results / f"{stem}.md").write_text(report.markdown(doc, rows))
    say()
    say(report.text_table(rows))
    for n in notes:
        say(f"note: {n}")
    say(f"\nwrote {args.results / (stem + '.json')} and .md in {elapsed:.0f} s")
    if failed:
        say(f"FAILED sections: {', '.join(failed)}")
        return 1
    return 0


def p6_postgres(dep: Deployment, servers: Servers, row: Any) -> dict[str, Any] | None:
    """P6 (switch) with both replicas on a throwaway PostgreSQL control DB."""
    with harness.throwaway_postgres(PG_ADMIN_URL) as url:
        if url is None:
            return None
        pg = dep.with_database(url)
        try:
            # The first start migrates the empty database; the second finds it at head.
            a = servers.wait_ready(harness.spawn_gateway(servers, pg, "gateway-pg-a", cpu=None))
            b = servers.wait_ready(harness.spawn_gateway(servers, pg, "gateway-pg-b", cpu=None))
            try:
                return p6_propagation.run(pg, [a, b], row, quick=False, kinds=("switch",))
            finally:
                servers.stop(a)
                servers.stop(b)
        finally:
            pg.close()


if __name__ == "__main__":
    sys.exit(main())
