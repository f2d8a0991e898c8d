"""Where a gateway under load spends its time: py-spy on `turnout serve`, summarised.

    .venv/bin/pip install py-spy      # not a project dependency; install it by hand
    .venv/bin/python bench/profile_gateway.py [--path /invocations] [--seconds 8]
        [--env TURNOUT_LOG_PREDICTIONS=false]

Sets up the standard model like bench/run.py, starts one gateway pinned to core 0, sends
16-connection closed-loop load from core 1, samples every thread of the server with
py-spy at 1000 Hz, and prints: the share of samples per thread, the biggest inclusive
and self frames, and what the event loop's share of ``InferenceFront.infer`` goes to. A
frame where the event-loop thread releases the GIL (a syscall such as ``os.urandom`` in
``uuid4``, or onnxruntime's run) also collects the time it waits to get the GIL back
from another thread, so read a big share there as "another thread held the GIL".
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import harness
from loadgen import build_request, run_load, summarize_ns


def say(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def summarise(raw: Path, top: int) -> None:
    total = 0
    by_thread: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    self_: Counter[str] = Counter()
    main = 0
    in_handler: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        n = int(count)
        frames = stack.split(";")
        total += n
        is_main = not any(f.startswith("Thread._bootstrap") for f in frames[:2])
        thread = "event loop (main thread)" if is_main else frames[min(3, len(frames) - 1)]
        by_thread[thread[:90]] += n
        self_[frames[-1][:100]] += n
        for f in set(frames):
            if "(router/" in f or "(registry/" in f or "(monitors/" in f or "(turnout/serve" in f:
                inclusive[f[:100]] += n
        if is_main:
            main += n
            for i, f in enumerate(frames):
                if f.startswith(("InferenceFront.infer", "InferenceFront.invocations")):
                    nxt = frames[i + 1] if i + 1 < len(frames) else "(self) " + f
                    in_handler[nxt[:100]] += n
                    break
    say(f"{total} samples")
    say("\n== share of samples per thread")
    for k, v in by_thread.most_common(8):
        say(f"{100 * v / total:5.1f}%  {k}")
    say(f"\n== inclusive, turnout's own frames (top {top})")
    for k, v in inclusive.most_common(top):
        say(f"{100 * v / total:5.1f}%  {k}")
    say(f"\n== self (top {top})")
    for k, v in self_.most_common(top):
        say(f"{100 * v / total:5.1f}%  {k}")
    say("\n== inside the request handler, as a share of the event loop's samples")
    for k, v in in_handler.most_common(top):
        say(f"{100 * v / max(main, 1):5.1f}%  {k}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--path", default="/v2/models/bc/infer")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--env", action="append", default=[], help="KEY=VALUE for the gateway")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    spy = shutil.which("py-spy", path=str(harness.BIN)) or shutil.which("py-spy")
    if spy is None:
        say("py-spy is not installed: .venv/bin/pip install py-spy")
        return 2
    root = Path(tempfile.mkdtemp(prefix="turnout-profile-"))
    (root / "logs").mkdir()
    servers = harness.Servers(root / "logs")
    dep = None
    try:
        models = harness.build_models(root / "models", gbt=False)
        dep = harness.Deployment.create(root / "deploy")
        dep.promote("bc", dep.register("bc", models.lr_onnx, models.reference))
        env = dict(dep.env, **dict(kv.split("=", 1) for kv in args.env))
        gw = servers.wait_ready(
            harness.spawn_gateway(servers, dep, "gateway", cpu=harness.SERVER_CPU, env=env)
        )
        harness.pin_self(harness.CLIENT_CPU)
        body = (
            harness.oip_body(models.row)
            if args.path.startswith("/v2")
            else harness.invocations_body(models.row)
        )
        raw = build_request("POST", args.path, gw.port, body)
        run_load(gw.port, [raw], connections=args.connections, duration_s=2.0)  # warm up
        out = root / "profile.txt"
        cmd = [spy, "record", "-o", str(out), "-f", "raw", "-r", "1000"]
        cmd += ["-d", str(int(args.seconds)), "--nonblocking", "-p", str(gw.proc.pid)]
        sampler = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        res = run_load(gw.port, [raw], connections=args.connections, duration_s=args.seconds + 1)
        _, err = sampler.communicate(timeout=60)
        stats = summarize_ns(res.latencies_ns)
        say(f"{args.path}: {res.rps:.0f} req/s at {args.connections} connections, {stats}")
        if not out.exists():
            say(f"py-spy wrote nothing: {err.decode(errors='replace')[-500:]}")
            return 1
        summarise(out, args.top)
        return 0
    finally:
        servers.stop_all()
        if dep is not None:
            dep.close()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
