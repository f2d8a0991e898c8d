"""P6: a policy change (or alias move) -> every gateway replica routes by it.

Two ``turnout serve`` processes share one control DB. A new policy is written
in-process with ``router.serving.policy_store.put_policy`` (what ``turnout traffic set``
stores, without a CLI start-up in the timing), and each replica is polled every 10 ms
with a keyed request (``x-turnout-key: probe``) until it answers with the new version
(``x-turnout-version``). The time is from just before the write to the first answer
by the new version; a change counts when BOTH replicas route by it. Target: <= 1 s.

Three kinds of change, each measured several times with a random pause between (so
the change lands at a random phase of the replicas' poll interval):

- switch: both versions are already loaded (the policy names the other one in a match
  rule nobody sends), only the weights move: the pure propagation delay.
- load: the new policy names a version the replicas have not loaded, so each must
  fetch, load and warm it before applying the policy (the GBT model, then back).
- alias: the model follows its champion; ``promote`` / ``rollback`` move the alias
  (timed from the start of the call, MLflow writes included).
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from harness import Deployment, Server, oip_body
from loadgen import SyncClient, build_request

TARGET_S = 1.0
POLL_S = 0.010
HEADER = "x-turnout-version"


class _Probe:
    def __init__(self, server: Server, body: bytes) -> None:
        self.server = server
        self.raw = build_request(
            "POST", "/v2/models/bc/infer", server.port, body, {"x-turnout-key": "probe"}
        )
        self.client = SyncClient(server.port, timeout=5)

    def version(self) -> str:
        try:
            resp = self.client.request(self.raw)
        except OSError:
            return "error"
        if resp.status != 200:
            return f"http-{resp.status}"
        return resp.headers.get(HEADER, "")

    def close(self) -> None:
        self.client.close()


def _until_all(probes: list[_Probe], expected: str, t0: float, timeout: float) -> list[float]:
    """Seconds from T0 until each probe first answers EXPECTED (inf on timeout)."""
    done: list[float | None] = [None] * len(probes)
    while True:
        now = time.monotonic()
        for i, p in enumerate(probes):
            if done[i] is None and p.version() == expected:
                done[i] = time.monotonic() - t0
        if all(d is not None for d in done):
            return [float(d) for d in done if d is not None]
        if now - t0 > timeout:
            return [float("inf") if d is None else d for d in done]
        time.sleep(max(0.0, POLL_S - (time.monotonic() - now)))


def _series(
    probes: list[_Probe],
    changes: list[tuple[Callable[[], object], str]],
    *,
    timeout: float,
) -> dict[str, Any]:
    samples: list[dict[str, Any]] = []
    for apply, expected in changes:
        time.sleep(random.uniform(0.05, 0.6))
        t0 = time.monotonic()
        apply()
        written = time.monotonic() - t0
        per = _until_all(probes, expected, t0, timeout)
        samples.append(
            {
                "expected": expected,
                "write_s": round(written, 4),
                "replicas_s": per,
                "all_s": max(per),
            }
        )
    alls = [s["all_s"] for s in samples]
    return {
        "n": len(samples),
        "median_s": round(statistics.median(alls), 3),
        "max_s": round(max(alls), 3),
        "min_s": round(min(alls), 3),
        "median_write_s": round(statistics.median(s["write_s"] for s in samples), 4),
        "samples": samples,
        "met": max(alls) <= TARGET_S,
    }


def run(
    dep: Deployment,
    replicas: list[Server],
    row: Any,
    *,
    quick: bool,
    kinds: tuple[str, ...] = ("switch", "load", "alias"),
) -> dict[str, Any]:
    from router.traffic import MatchRule

    body = oip_body(row)
    probes = [_Probe(s, body) for s in replicas]
    random.seed(11)
    out: dict[str, Any] = {"replicas": len(replicas), "poll_every_s": POLL_S}
    try:
        if "switch" in kinds:

            def to(version: str, other: str) -> Callable[[], object]:
                never = MatchRule("header", "x-bench-never", "exact", "1", other)
                return lambda: dep.put_policy("bc", {version: 100}, match=(never,))

            to("1", "2")()
            _until_all(probes, "1", time.monotonic(), 30)
            n = 4 if quick else 12
            changes = [(to("2", "1"), "2") if i % 2 == 0 else (to("1", "2"), "1") for i in range(n)]
            out["switch"] = _series(probes, changes, timeout=10)
        if "load" in kinds:
            dep.put_policy("bc", {"1": 100})
            _until_all(probes, "1", time.monotonic(), 30)
            time.sleep(0.6)  # the versions the policy no longer names are unloaded
            n = 2 if quick else 6

            def only(version: str) -> Callable[[], object]:
                return lambda: dep.put_policy("bc", {version: 100})

            changes = [(only("3"), "3") if i % 2 == 0 else (only("1"), "1") for i in range(n)]
            out["load"] = _series(probes, changes, timeout=30)
        if "alias" in kinds:
            dep.put_policy("bc", None)  # follow the champion (version 1)
            _until_all(probes, "1", time.monotonic(), 30)
            n = 2 if quick else 6
            changes = [
                ((lambda: dep.promote("bc", "2")), "2")
                if i % 2 == 0
                else ((lambda: dep.rollback("bc")), "1")
                for i in range(n)
            ]
            out["alias"] = _series(probes, changes, timeout=30)
    finally:
        for p in probes:
            p.close()
    met = [v["met"] for k, v in out.items() if isinstance(v, dict) and "met" in v]
    out["met"] = all(met) if met else None
    out["target_s"] = TARGET_S
    return out


_KIND_LABEL = {
    "switch": "policy change, versions loaded",
    "load": "policy change that loads a version",
    "alias": "alias move (promote/rollback)",
}


def rows(r: dict[str, Any], backend: str) -> list[list[str]]:
    out = []
    for kind, label in _KIND_LABEL.items():
        s = r.get(kind)
        if not s:
            continue
        out.append(
            [
                f"P6 {label}, {r['replicas']} replicas, {backend}: median / max",
                f"{s['median_s']:.3f} / {s['max_s']:.3f} s (n={s['n']})",
                "",
                "",
                f"<= {r['target_s']:.0f} s",
                "yes" if s["met"] else "NO",
            ]
        )
    return out
