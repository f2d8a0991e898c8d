"""P2: throughput and latency at 1 and 16 connections against `mlflow models serve`.

Same ONNX model, same worker count (1), servers pinned to core 0, the load client on
core 1. turnout is measured on both of its protocols: MLflow's ``/invocations`` (the
same payload the anchor gets) and OIP ``/v2/models/bc/infer``. MLServer (OIP v2,
scikit-learn runtime, in its own virtualenv) is a second anchor when it installs.

Target: turnout req/s >= 5 x the anchor's (read at 16 connections, where throughput
is the server's limit) and turnout p50 <= 1/3 of the anchor's (read at 1 connection,
where p50 is the request's own latency). Both ratios are also shown at the other
concurrency. Runs are interleaved (every target once, then again) and pooled.

When ``wrk`` is installed (Debian's ``wrk`` package; full runs only) every target's
16-connection run is measured again with it, and each comparison gets a second req/s
ratio: wrk is a C client, so it still reads the server's limit where the Python client
(one core, a few thousand req/s) nears its own.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from harness import CLIENT_CPU, can_pin
from loadgen import build_request, run_load, summarize_ns

TARGET_RPS_RATIO = 5.0
TARGET_P50_RATIO = 1 / 3
CONCURRENCY = (1, 16)


def _measure(
    targets: dict[str, tuple[int, str, bytes]],
    *,
    reps: int,
    duration_s: float,
    warmup_s: float,
) -> dict[str, dict[str, Any]]:
    pooled: dict[tuple[str, int], dict[str, Any]] = {}
    for _ in range(reps):
        for name, (port, path, body) in targets.items():
            raw = build_request("POST", path, port, body)
            for conns in CONCURRENCY:
                res = run_load(
                    port, [raw], connections=conns, duration_s=duration_s, warmup_s=warmup_s
                )
                slot = pooled.setdefault(
                    (name, conns),
                    {"lat": [], "requests": 0, "seconds": 0.0, "statuses": Counter(), "errors": 0},
                )
                slot["lat"].extend(res.latencies_ns)
                slot["requests"] += res.requests
                slot["seconds"] += res.duration_s
                slot["statuses"].update(res.statuses)
                slot["errors"] += res.connection_errors
    out: dict[str, dict[str, Any]] = {}
    for (name, conns), slot in pooled.items():
        stats = summarize_ns(slot["lat"])
        out.setdefault(name, {})[f"c{conns}"] = stats | {
            "rps": round(slot["requests"] / slot["seconds"], 1),
            "statuses": dict(slot["statuses"]),
            "connection_errors": slot["errors"],
        }
    return out


def wrk_check(port: int, path: str, body: bytes, duration_s: float) -> dict[str, Any] | None:
    """wrk -t1 -c16 on the client core: req/s and its latency percentiles, or None."""
    wrk = shutil.which("wrk")
    if wrk is None:
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        # A level-2 long bracket: the JSON body itself contains "]]".
        f.write(
            'wrk.method = "POST"\n'
            f"wrk.body = [==[{body.decode()}]==]\n"
            'wrk.headers["Content-Type"] = "application/json"\n'
        )
        script = f.name
    cmd = [wrk, "-t1", "-c16", f"-d{max(1, round(duration_s))}s", "--latency", "-s", script]
    cmd.append(f"http://127.0.0.1:{port}{path}")
    if can_pin() and shutil.which("taskset"):
        cmd = ["taskset", "-c", str(CLIENT_CPU), *cmd]
    try:
        text = subprocess.run(
            cmd, capture_output=True, text=True, timeout=duration_s + 30, check=False
        ).stdout
    finally:
        Path(script).unlink(missing_ok=True)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    if rps is None:
        return {"error": text.strip()[-300:]}
    out: dict[str, Any] = {"rps": float(rps.group(1))}
    for q in ("50", "99"):
        m = re.search(rf"^\s+{q}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
        if m:
            scale = {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)]
            out[f"p{q}_ms"] = round(float(m.group(1)) * scale, 4)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    out["non_2xx"] = int(non2xx.group(1)) if non2xx else 0
    errors = re.search(r"Socket errors:(.*)", text)
    out["socket_errors"] = errors.group(1).strip() if errors else ""
    return out


def run(
    *,
    gateway_port: int,
    mlflow_port: int,
    oip_body: bytes,
    inv_body: bytes,
    mlserver: tuple[int, bytes] | None,
    gbt: tuple[int, str] | None,  # (mlflow-gbt port, turnout model name)
    hello_port: int | None,
    quick: bool,
) -> dict[str, Any]:
    reps, duration, warmup = (1, 1.0, 0.3) if quick else (2, 5.0, 1.0)
    targets: dict[str, tuple[int, str, bytes]] = {
        "turnout_oip": (gateway_port, "/v2/models/bc/infer", oip_body),
        "turnout_invocations": (gateway_port, "/invocations", inv_body),
        "mlflow": (mlflow_port, "/invocations", inv_body),
    }
    if mlserver is not None:
        targets["mlserver"] = (mlserver[0], "/v2/models/bc/infer", mlserver[1])
    if hello_port is not None:  # the framework's own ceiling on this core (info)
        targets["hello_post"] = (hello_port, "/hello", oip_body)
    if gbt is not None:
        targets["turnout_oip_gbt"] = (gateway_port, f"/v2/models/{gbt[1]}/infer", oip_body)
        targets["mlflow_gbt"] = (gbt[0], "/invocations", inv_body)
    measured = _measure(targets, reps=reps, duration_s=duration, warmup_s=warmup)

    def ratios(name: str, anchor: str) -> dict[str, float]:
        t, a = measured[name], measured[anchor]
        return {
            "rps_c16": round(t["c16"]["rps"] / a["c16"]["rps"], 2),
            "rps_c1": round(t["c1"]["rps"] / a["c1"]["rps"], 2),
            "p50_c1": round(t["c1"]["p50_ms"] / a["c1"]["p50_ms"], 3),
            "p50_c16": round(t["c16"]["p50_ms"] / a["c16"]["p50_ms"], 3),
        }

    comparisons: dict[str, dict[str, float]] = {
        "turnout_oip_vs_mlflow": ratios("turnout_oip", "mlflow"),
        "turnout_invocations_vs_mlflow": ratios("turnout_invocations", "mlflow"),
    }
    if mlserver is not None:
        comparisons["turnout_oip_vs_mlserver"] = ratios("turnout_oip", "mlserver")
    if gbt is not None:
        comparisons["gbt_turnout_oip_vs_mlflow"] = ratios("turnout_oip_gbt", "mlflow_gbt")
    for c in comparisons.values():
        c["met_rps"] = c["rps_c16"] >= TARGET_RPS_RATIO  # type: ignore[assignment]
        c["met_p50"] = c["p50_c1"] <= TARGET_P50_RATIO  # type: ignore[assignment]
    # The same 16-connection runs again with wrk, a C client: where the Python client
    # nears its own limit (a few thousand req/s on its one core), wrk still shows the
    # server's. Every target, so each comparison also has a wrk ratio.
    wrk: dict[str, Any] = {}
    if not quick:
        for name, (port, path, body) in targets.items():
            wrk[name] = wrk_check(port, path, body, duration)
    for key, c in comparisons.items():
        t_name, a_name = _SIDES[key]
        t_wrk, a_wrk = wrk.get(t_name), wrk.get(a_name)
        if _wrk_ok(t_wrk) and _wrk_ok(a_wrk):
            assert t_wrk is not None and a_wrk is not None
            c["wrk_rps_c16"] = round(t_wrk["rps"] / a_wrk["rps"], 2)
            c["met_wrk_rps"] = c["wrk_rps_c16"] >= TARGET_RPS_RATIO
    return {
        "settings": {
            "reps": reps,
            "duration_s": duration,
            "warmup_s": warmup,
            "concurrency": list(CONCURRENCY),
        },
        "servers": measured,
        "ratios": comparisons,
        "wrk_c16": wrk,
        "target_rps_ratio": TARGET_RPS_RATIO,
        "target_p50_ratio": round(TARGET_P50_RATIO, 3),
    }


def _wrk_ok(w: dict[str, Any] | None) -> bool:
    """A wrk run that measured something valid (every answer 2xx, no socket errors)."""
    if not w or "rps" not in w:
        return False
    return not w.get("non_2xx") and not w.get("socket_errors")


_LABELS = {
    "turnout_oip_vs_mlflow": ("turnout OIP", "mlflow serve"),
    "turnout_invocations_vs_mlflow": ("turnout /invocations", "mlflow serve"),
    "turnout_oip_vs_mlserver": ("turnout OIP", "MLServer"),
    "gbt_turnout_oip_vs_mlflow": ("GBT: turnout OIP", "mlflow serve"),
}
_SIDES = {
    "turnout_oip_vs_mlflow": ("turnout_oip", "mlflow"),
    "turnout_invocations_vs_mlflow": ("turnout_invocations", "mlflow"),
    "turnout_oip_vs_mlserver": ("turnout_oip", "mlserver"),
    "gbt_turnout_oip_vs_mlflow": ("turnout_oip_gbt", "mlflow_gbt"),
}


def rows(r: dict[str, Any]) -> list[list[str]]:
    out = []
    for key, c in r["ratios"].items():
        mine, anchor = _LABELS[key]
        t_name, a_name = _SIDES[key]
        t, a = r["servers"][t_name], r["servers"][a_name]
        out.append(
            [
                f"P2 req/s @16 conn: {mine} vs {anchor}",
                f"{t['c16']['rps']:.0f}",
                f"{a['c16']['rps']:.0f}",
                f"{c['rps_c16']:.2f}x",
                f">= {r['target_rps_ratio']:.0f}x",
                "yes" if c["met_rps"] else "NO",
            ]
        )
        if "wrk_rps_c16" in c:
            tw, aw = r["wrk_c16"][t_name], r["wrk_c16"][a_name]
            out.append(
                [
                    f"P2 req/s @16 conn, wrk: {mine} vs {anchor}",
                    f"{tw['rps']:.0f}",
                    f"{aw['rps']:.0f}",
                    f"{c['wrk_rps_c16']:.2f}x",
                    f">= {r['target_rps_ratio']:.0f}x",
                    "yes" if c["met_wrk_rps"] else "NO",
                ]
            )
        out.append(
            [
                f"P2 p50 @1 conn: {mine} vs {anchor}",
                f"{t['c1']['p50_ms']:.3f} ms",
                f"{a['c1']['p50_ms']:.3f} ms",
                f"{c['p50_c1']:.3f}x",
                "<= 0.333x",
                "yes" if c["met_p50"] else "NO",
            ]
        )
        out.append(
            [
                f"P2   (info) req/s @1 conn; p50 @16 conn: {mine} vs {anchor}",
                f"{t['c1']['rps']:.0f}; {t['c16']['p50_ms']:.2f} ms",
                f"{a['c1']['rps']:.0f}; {a['c16']['p50_ms']:.2f} ms",
                f"{c['rps_c1']:.2f}x; {c['p50_c16']:.3f}x",
                "info",
                "",
            ]
        )
    hello = r["servers"].get("hello_post")
    if hello:
        t = r["servers"]["turnout_oip"]
        out.append(
            [
                "P2   (info) ceiling: FastAPI hello POST, same body, req/s @16; p50 @1",
                f"{t['c16']['rps']:.0f}; {t['c1']['p50_ms']:.3f} ms",
                f"{hello['c16']['rps']:.0f}; {hello['c1']['p50_ms']:.3f} ms",
                f"{t['c16']['rps'] / hello['c16']['rps']:.2f}x",
                "info",
                "",
            ]
        )
    for name, w in (r.get("wrk_c16") or {}).items():
        if w and "rps" in w:
            bad = f" ({w['non_2xx']} non-2xx: invalid)" if w.get("non_2xx") else ""
            out.append(
                [
                    f"P2   (check) wrk -c16 {name}",
                    f"{w['rps']:.0f} req/s, p50 {w.get('p50_ms', float('nan')):.2f} ms{bad}",
                    "",
                    "",
                    "info",
                    "",
                ]
            )
    return out
