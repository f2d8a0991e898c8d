"""P1: the gateway's added latency at one connection, against FastAPI hello-world.

added = p50(OIP infer over HTTP) - p50(bare onnxruntime call in-process, same row).
Anchor: p50 of a FastAPI hello-world endpoint served by uvicorn with the gateway's
settings, measured with the same client. Target: added <= 1.3 x hello p50, and the
OIP infer p99 <= 5 ms.

The client is one blocking keep-alive socket (loadgen.SyncClient) on its own core. The
servers are measured in interleaved rounds (hello, OIP, /invocations, hello POST, ...),
each round on a fresh connection, so slow drift of a noisy machine hits all alike.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import numpy as np
from harness import ModelSet, Server, invocations_body, oip_body, ort_session
from loadgen import SyncClient, build_request, summarize_ns

TARGET_RATIO = 1.3
TARGET_P99_MS = 5.0


def bare_ort(path: Any, row: np.ndarray, n: int) -> dict[str, float]:
    """p50/p99 of session.run on one row, in-process (the model's own cost)."""
    session = ort_session(path)
    feeds = {"input": np.ascontiguousarray(row, dtype=np.float32)}
    for _ in range(200):
        session.run(None, feeds)
    clock = time.perf_counter_ns
    out = []
    for _ in range(n):
        t0 = clock()
        session.run(None, feeds)
        out.append(clock() - t0)
    return summarize_ns(out)


def _rounds(
    targets: dict[str, tuple[int, bytes]], rounds: int, per_round: int, warmup: int
) -> dict[str, dict[str, Any]]:
    lat: dict[str, list[int]] = {name: [] for name in targets}
    statuses: dict[str, Counter[int]] = {name: Counter() for name in targets}
    for port, raw in targets.values():  # warm each server and its code paths
        c = SyncClient(port)
        c.timed(raw, warmup)
        c.close()
    for _ in range(rounds):
        for name, (port, raw) in targets.items():
            c = SyncClient(port)
            c.timed(raw, 20)  # the connection's first requests are not typical
            got, st = c.timed(raw, per_round)
            c.close()
            lat[name].extend(got)
            statuses[name].update(st)
    out: dict[str, dict[str, Any]] = {}
    for name in targets:
        out[name] = summarize_ns(lat[name]) | {"statuses": dict(statuses[name])}
    return out


def run(
    models: ModelSet,
    gateway: Server,
    hello: Server,
    *,
    quick: bool,
    gbt_model: str | None,
) -> dict[str, Any]:
    rounds, per_round, warmup = (4, 300, 300) if quick else (10, 1000, 1000)
    row = models.row
    gw = gateway.port
    targets = {
        "hello_get": (hello.port, build_request("GET", "/hello", hello.port)),
        "oip_infer": (gw, build_request("POST", "/v2/models/bc/infer", gw, oip_body(row))),
        "invocations": (gw, build_request("POST", "/invocations", gw, invocations_body(row))),
        "hello_post": (hello.port, build_request("POST", "/hello", hello.port, oip_body(row))),
    }
    if gbt_model:
        targets["oip_infer_gbt"] = (
            gw,
            build_request("POST", f"/v2/models/{gbt_model}/infer", gw, oip_body(row)),
        )
    http = _rounds(targets, rounds, per_round, warmup)
    n_ort = 5000 if quick else 20000
    ort_lr = bare_ort(models.lr_onnx, row, n_ort)
    ort_gbt = bare_ort(models.gbt_onnx, row, n_ort) if gbt_model else None

    hello_p50 = http["hello_get"]["p50_ms"]
    added = http["oip_infer"]["p50_ms"] - ort_lr["p50_ms"]
    added_inv = http["invocations"]["p50_ms"] - ort_lr["p50_ms"]
    result: dict[str, Any] = {
        "settings": {
            "rounds": rounds,
            "requests_per_round": per_round,
            "warmup_requests": warmup,
            "connections": 1,
        },
        "http": http,
        "bare_ort": {"lr": ort_lr, "gbt": ort_gbt},
        "hello_p50_ms": hello_p50,
        "hello_p99_ms": http["hello_get"]["p99_ms"],
        "oip_p50_ms": http["oip_infer"]["p50_ms"],
        "oip_p99_ms": http["oip_infer"]["p99_ms"],
        "added_p50_ms": round(added, 4),
        "added_p50_invocations_ms": round(added_inv, 4),
        "ratio_added_to_hello": round(added / hello_p50, 3),
        "ratio_added_to_hello_post": round(added / http["hello_post"]["p50_ms"], 3),
        "target_ratio": TARGET_RATIO,
        "target_p99_ms": TARGET_P99_MS,
    }
    if gbt_model and ort_gbt:
        result["added_p50_gbt_ms"] = round(http["oip_infer_gbt"]["p50_ms"] - ort_gbt["p50_ms"], 4)
    result["met_ratio"] = result["ratio_added_to_hello"] <= TARGET_RATIO
    result["met_p99"] = result["oip_p99_ms"] <= TARGET_P99_MS
    return result


def rows(r: dict[str, Any]) -> list[list[str]]:
    """Table rows: metric, turnout, anchor, ratio, target, met."""
    http = r["http"]
    out = [
        [
            "P1 added p50 (OIP - bare ORT) vs hello GET p50",
            f"{r['added_p50_ms']:.3f} ms",
            f"{r['hello_p50_ms']:.3f} ms",
            f"{r['ratio_added_to_hello']:.2f}x",
            f"<= {r['target_ratio']}x",
            _yes(r["met_ratio"]),
        ],
        [
            "P1 OIP infer p50 / p99 (1 conn)",
            f"{r['oip_p50_ms']:.3f} / {r['oip_p99_ms']:.3f} ms",
            f"{r['hello_p50_ms']:.3f} / {r['hello_p99_ms']:.3f} ms",
            "",
            f"p99 <= {r['target_p99_ms']:.0f} ms",
            _yes(r["met_p99"]),
        ],
        [
            "P1 /invocations p50 / p99; hello POST p50 / p99",
            f"{http['invocations']['p50_ms']:.3f} / {http['invocations']['p99_ms']:.3f} ms",
            f"{http['hello_post']['p50_ms']:.3f} / {http['hello_post']['p99_ms']:.3f} ms",
            f"{r['ratio_added_to_hello_post']:.2f}x (vs POST)",
            "info",
            "",
        ],
        [
            "P1 bare onnxruntime p50 (LR)",
            f"{r['bare_ort']['lr']['p50_ms'] * 1000:.1f} us",
            "",
            "",
            "info",
            "",
        ],
    ]
    if r.get("added_p50_gbt_ms") is not None:
        out.append(
            [
                "P1 GBT: OIP p50, bare ORT p50, added",
                f"{r['http']['oip_infer_gbt']['p50_ms']:.3f} ms, "
                f"{r['bare_ort']['gbt']['p50_ms'] * 1000:.1f} us, "
                f"{r['added_p50_gbt_ms']:.3f} ms",
                "",
                "",
                "info",
                "",
            ]
        )
    return out


def _yes(ok: bool) -> str:
    return "yes" if ok else "NO"
