"""P3: what telemetry and input sketches cost per request, 20 features.

In-process (the primary number): a ``Recorder`` with a 20-feature ``InputSketcher``
built from a reference profile (``monitors.compute_profile`` on generated data), fed
the way ``Gateway.run`` feeds it: ``_sketch_args`` passes the float32 [1, 20] feed
as is (the sketcher queues small float arrays and bins them with numpy in batches),
then ``record(...)`` counts the outcome and latency, sketches the row and summarises
the label output. The same loop without that work is the anchor; the
difference divided by the iterations is the cost per request. Breakdowns: counters
only (no row, no outputs), and the prediction log the gateway also writes per request.

End to end (full run only): the gateway with ``Recorder.record`` patched to a no-op and
no row sketched (bench/gateway_variant.py) against the unpatched gateway through the
same launcher, both pinned to core 0: server time per request = 1 / req/s at 16
connections, and p50 at 1 connection.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np
from loadgen import build_request, run_load, summarize_ns

TARGET_US = 5.0
N_FEATURES = 20


def _setup() -> dict[str, Any]:
    """A 20-feature model version, loaded and attached the way the gateway's pool does."""
    import warnings

    import pandas as pd
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.linear_model import LogisticRegression

    from monitors import compute_profile, profile_to_json
    from router.inference import load_session
    from router.serving.attach import version_helpers
    from router.serving.pool import LoadedVersion
    from router.telemetry import Recorder

    rng = np.random.default_rng(7)
    names = [f"f{i:02d}" for i in range(N_FEATURES)]
    scales = rng.uniform(0.5, 50.0, N_FEATURES)
    x = (rng.normal(0, 1, (5000, N_FEATURES)) * scales).astype(np.float32)
    y = (x[:, 0] / scales[0] + x[:, 1] / scales[1] > 0).astype(np.int64)
    est = LogisticRegression(max_iter=500).fit(x, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        onx = to_onnx(
            est,
            initial_types=[("input", FloatTensorType([None, N_FEATURES]))],
            options={id(est): {"zipmap": False}},
            target_opset=17,
        )
    session = load_session(onx.SerializeToString())
    profile = compute_profile(pd.DataFrame(x, columns=names))
    loaded = LoadedVersion("m", "1", session, session.signature, profile_to_json(profile), {})
    loaded.extra.update(version_helpers(loaded))  # what attach_with() adds: sketcher, roles
    # As a stock gateway (TURNOUT_SAMPLE_ROWS=20): a raw-row sample per bucket too.
    recorder = Recorder("bench", sample_rows=20)
    recorder.register("m", "1", loaded.extra.get("sketcher"), loaded.extra.get("output_name"))
    live = (rng.normal(0.1, 1.1, (1000, N_FEATURES)) * scales).astype(np.float32)
    feeds = [{"input": live[i : i + 1]} for i in range(len(live))]
    outputs = [session.run(f) for f in feeds]
    return {
        "recorder": recorder,
        "loaded": loaded,
        "feeds": feeds,
        "outputs": outputs,
        "rows": [f["input"][0].tolist() for f in feeds],
        "sketched": loaded.extra.get("sketcher") is not None,
        "kinds": dict(Counter(loaded.extra["sketcher"].kinds.values()))
        if loaded.extra.get("sketcher") is not None
        else {},
    }


def _time_loop(body: Callable[[int], None], n: int) -> float:
    clock = time.perf_counter_ns
    t0 = clock()
    for i in range(n):
        body(i)
    return (clock() - t0) / n  # ns per iteration


def measure(quick: bool) -> dict[str, Any]:
    from router.quality import PredictionBuffer
    from router.serving.gateway import Gateway, _sketch_args
    from router.telemetry import names

    s = _setup()
    rec = s["recorder"]
    feeds, outputs, rows, loaded = s["feeds"], s["outputs"], s["rows"], s["loaded"]
    m = len(feeds)
    ok = names.OUTCOME_OK
    out_name = loaded.extra.get("output_name", "")
    perf = time.perf_counter

    def baseline(i: int) -> None:
        feeds[i % m]  # noqa: B018 (the same indexing work as the variants)
        outputs[i % m]  # noqa: B018

    def gateway_style(i: int) -> None:
        # Gateway.run's telemetry call for a successful one-row request, as written there.
        f = feeds[i % m]
        o = outputs[i % m]
        rec.record(
            loaded.model,
            loaded.version,
            latency_s=perf() - 0.0,
            outcome=ok,
            rows=1,
            **_sketch_args(loaded, f),
            outputs=o.get(out_name) if o else None,
        )

    def row_list(i: int) -> None:
        rec.record("m", "1", latency_s=0.0004, outcome=ok, rows=1, row=rows[i % m])

    def array_row(i: int) -> None:
        rec.record("m", "1", latency_s=0.0004, outcome=ok, rows=1, matrix=feeds[i % m]["input"])

    def counters_only(i: int) -> None:
        feeds[i % m]  # noqa: B018
        outputs[i % m]  # noqa: B018
        rec.record("m", "1", latency_s=0.0004, outcome=ok, rows=1)

    buffer = PredictionBuffer()
    gw = Gateway(None, None, rec, buffer)  # type: ignore[arg-type]

    def prediction_log(i: int) -> None:
        feeds[i % m]  # noqa: B018
        gw._log(loaded, "0123456789abcdef0123456789abcdef", outputs[i % m], shadow=False)

    n = 30_000 if quick else 200_000
    reps = 3 if quick else 7
    variants: dict[str, Callable[[int], None]] = {
        "baseline": baseline,
        "gateway_style": gateway_style,
        "row_list": row_list,
        "array_row": array_row,
        "counters_only": counters_only,
        "prediction_log": prediction_log,
    }
    per: dict[str, list[float]] = {k: [] for k in variants}
    for _ in range(reps):
        for name, body in variants.items():
            per[name].append(_time_loop(body, n))
            buffer.drain()  # what the prediction writer does about once a second
            rec.drain(force=True)  # what the flusher thread does about once a second
    base = statistics.median(per["baseline"])
    cost = {
        name: round((statistics.median(v) - base) / 1000.0, 3)
        for name, v in per.items()
        if name != "baseline"
    }
    return {
        "settings": {"iterations": n, "reps": reps, "features": N_FEATURES},
        "sketcher_kinds": s["kinds"],
        "baseline_ns_per_iter": round(base, 1),
        "cost_us": cost,
        "primary_us": cost["gateway_style"],
        "target_us": TARGET_US,
        "met": cost["gateway_style"] <= TARGET_US,
        "raw_ns_per_iter": {k: [round(x, 1) for x in v] for k, v in per.items()},
    }


def end_to_end(
    ports: dict[str, int], oip_body: bytes, *, reps: int = 3, duration_s: float = 4.0
) -> dict[str, Any]:
    """Interleaved runs on the 'none' and 'no-telemetry' gateway variants."""
    out: dict[str, dict[str, Any]] = {}
    pooled: dict[str, dict[str, list[Any]]] = {k: {"rps": [], "lat1": []} for k in ports}
    for _ in range(reps):
        for name, port in ports.items():
            raw = build_request("POST", "/v2/models/bc/infer", port, oip_body)
            r16 = run_load(port, [raw], connections=16, duration_s=duration_s, warmup_s=0.5)
            r1 = run_load(port, [raw], connections=1, duration_s=duration_s / 2, warmup_s=0.2)
            pooled[name]["rps"].append(r16.rps)
            pooled[name]["lat1"].extend(r1.latencies_ns)
    for name, p in pooled.items():
        rps = statistics.mean(p["rps"])
        out[name] = {
            "rps_c16": round(rps, 1),
            "us_per_request_c16": round(1e6 / rps, 2),
            "c1": summarize_ns(p["lat1"]),
            "rps_runs": [round(x, 1) for x in p["rps"]],
        }
    a = out["stock"]
    diffs = {
        name: {
            "server_us_per_request": round(a["us_per_request_c16"] - v["us_per_request_c16"], 2),
            "p50_c1_us": round((a["c1"]["p50_ms"] - v["c1"]["p50_ms"]) * 1000, 1),
        }
        for name, v in out.items()
        if name != "stock"
    }
    return {
        "variants": out,
        "stock_minus": diffs,
        "settings": {"reps": reps, "duration_s": duration_s},
    }


def rows(r: dict[str, Any]) -> list[list[str]]:
    c = r["cost_us"]
    out = [
        [
            "P3 telemetry + 20-feature sketch per request (in-process)",
            f"{r['primary_us']:.2f} us",
            f"{r['baseline_ns_per_iter'] / 1000:.2f} us (loop alone)",
            "",
            f"<= {r['target_us']:.0f} us",
            "yes" if r["met"] else "NO",
        ],
        [
            "P3   (info) counters only; + sketch of a [1, 20] float32 array (as the gateway "
            "passes it); + sketch of a list row; prediction log",
            f"{c['counters_only']:.2f}; {c['array_row']:.2f}; {c['row_list']:.2f}; "
            f"{c['prediction_log']:.2f} us",
            "",
            "",
            "info",
            "",
        ],
    ]
    e2e = r.get("end_to_end")
    if e2e:
        v = e2e["variants"]
        for name, label in (
            ("no_telemetry", "no telemetry"),
            ("no_prediction_log", "no prediction log"),
        ):
            if name not in v:
                continue
            out.append(
                [
                    f"P3   (info) e2e server time/request @16 conn: stock vs {label}",
                    f"{v['stock']['us_per_request_c16']:.1f} us",
                    f"{v[name]['us_per_request_c16']:.1f} us",
                    f"diff {e2e['stock_minus'][name]['server_us_per_request']:+.1f} us",
                    "info",
                    "",
                ]
            )
    return out
