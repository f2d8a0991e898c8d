"""The README's screenshots, made from a demo run.

``python -m dashboards.screenshots`` starts ``turnout demo`` (not headless) on a free port
in a temporary state directory, waits until its three scenes are played, opens the
rollout page of the promoted canary, the rollout page of the rolled-back one, the drift
page and the alerts page in headless Chromium, saves them as PNGs under ``docs/images/``
and stops the demo. Needs Debian's ``chromium`` at ``/usr/bin/chromium`` and Playwright
(a dev dependency).
"""

from __future__ import annotations

import argparse
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Final

from playwright.sync_api import Browser, Page, sync_playwright

__all__ = ["DemoRun", "main", "parse_demo_line"]

CHROMIUM: Final = "/usr/bin/chromium"
CHROMIUM_ARGS: Final = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
IMAGES: Final = Path(__file__).resolve().parents[1] / "docs" / "images"
WIDTH: Final = 1280

_URL: Final = re.compile(r"server and dashboard: (http://\S+?)/?\s")
_STARTED: Final = re.compile(r"rollout #(\d+) started: (\S+) v(\S+),")
_OUTCOME: Final = re.compile(r"^\s+(Succeeded|RolledBack|Aborted|Failed)\s+v(\S+) at")
_SERVING: Final = "still serving at"


@dataclass
class DemoRun:
    """What the demo has said so far, parsed from its output."""

    url: str | None = None
    model: str | None = None
    started: list[int] = field(default_factory=list)  # rollout ids in order
    outcomes: dict[int, str] = field(default_factory=dict)  # rollout id -> final phase
    serving: bool = False

    def rollout(self, phase: str) -> int | None:
        """The first rollout that ended in ``phase``."""
        return next((r for r in self.started if self.outcomes.get(r) == phase), None)


def parse_demo_line(run: DemoRun, line: str) -> None:
    """Fold one line of ``turnout demo``'s output into ``run``."""
    if run.url is None and (m := _URL.search(line + " ")):
        run.url = m.group(1)
    elif m := _STARTED.search(line):
        run.started.append(int(m.group(1)))
        run.model = m.group(2)
    elif (m := _OUTCOME.search(line)) and run.started:
        run.outcomes.setdefault(run.started[-1], m.group(1))
    elif _SERVING in line:
        run.serving = True


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _turnout() -> str:
    beside = Path(sys.executable).with_name("turnout")
    return str(beside) if beside.exists() else "turnout"


@contextmanager
def _demo(state_dir: Path, port: int, speed: float, log: IO[str]) -> Iterator[queue.Queue[str]]:
    """``turnout demo`` as a child process; yields its output lines (also copied to
    ``log``) and stops it with Ctrl-C (SIGINT), as a person would."""
    env = {**os.environ, "TURNOUT_STATE_DIR": str(state_dir), "PYTHONUNBUFFERED": "1"}
    env.pop("TURNOUT_CONTROL_DB_URL", None)  # the demo's own SQLite, not a shared DB
    process = subprocess.Popen(
        [_turnout(), "demo", "--port", str(port), "--speed", f"{speed:g}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            log.write(line)
            log.flush()
            lines.put(line.rstrip("\n"))

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        yield lines
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.terminate()
                process.wait(timeout=10)
        reader.join(timeout=5)


def _wait_for_scenes(lines: queue.Queue[str], run: DemoRun, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not run.serving:
        left = deadline - time.monotonic()
        if left <= 0:
            raise SystemExit(f"the demo did not finish its scenes within {timeout_s:g} s")
        try:
            parse_demo_line(run, lines.get(timeout=min(left, 1.0)))
        except queue.Empty:
            continue


def _settle(page: Page, *charts: str) -> None:
    """Wait until the page's feeds have drawn: every chart has points, and Plotly's
    resize after the first draw is over."""
    for chart in charts:
        page.wait_for_function(
            f"Number((document.getElementById({chart!r}) || {{dataset: {{}}}}).dataset.points) > 0",
            timeout=20_000,
        )
    page.wait_for_function("!document.querySelector('[aria-busy=\"true\"]')", timeout=20_000)
    page.wait_for_timeout(1500)


def _save(page: Page, name: str, out: Path, max_height: int) -> Path:
    height = int(page.evaluate("document.documentElement.scrollHeight"))
    path = out / name
    page.screenshot(
        path=str(path),
        full_page=True,
        clip={"x": 0, "y": 0, "width": WIDTH, "height": min(height, max_height)},
    )
    return path


def _drift(page: Page, url: str, model: str) -> None:
    page.goto(f"{url}/models/{model}/drift")
    _settle(page, "chart-heatmap")
    # The newest drifting window (the drift scene has just ended, so newer ones are OK).
    chosen = page.evaluate(
        """() => {
          const o = [...document.querySelectorAll('#window option')];
          const hit = o.find((x) => x.textContent.includes('DRIFT'));
          return hit ? hit.value : null;
        }"""
    )
    if chosen is not None:
        page.select_option("#window", chosen)
        page.wait_for_function(
            f"(document.getElementById('window-summary').textContent || '').includes('#{chosen}')"
        )
    _settle(page, "chart-heatmap", "chart-distribution")


def take(browser: Browser, run: DemoRun, out: Path, *, max_height: int) -> list[Path]:
    assert run.url is not None and run.model is not None
    context = browser.new_context(viewport={"width": WIDTH, "height": 900}, color_scheme="light")
    page = context.new_page()
    page.set_default_timeout(20_000)
    saved: list[Path] = []
    try:
        # Drift first: its windows are short, and the drifting ones scroll out of the
        # newest 48 after a minute or two.
        _drift(page, run.url, run.model)
        saved.append(_save(page, "drift.png", out, max_height))
        for phase, name in (
            ("Succeeded", "rollout-promoted.png"),
            ("RolledBack", "rollout-rolled-back.png"),
        ):
            rollout = run.rollout(phase)
            if rollout is None:
                sys.stderr.write(f"no rollout ended {phase} in this run; {name} not made\n")
                continue
            page.goto(f"{run.url}/rollouts/{rollout}")
            _settle(page, "chart-weights", "chart-latency")
            page.wait_for_selector("#timeline .timeline li")
            saved.append(_save(page, name, out, max_height))
        page.goto(f"{run.url}/alerts")
        page.select_option("#status", "")
        page.wait_for_selector("#alerts table")
        _settle(page)
        saved.append(_save(page, "alerts.png", out, max_height))
    finally:
        context.close()
    return saved


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dashboards.screenshots", description=__doc__)
    parser.add_argument("--out", type=Path, default=IMAGES, help="where the PNGs go")
    parser.add_argument("--speed", type=float, default=4.0, help="the demo's --speed")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds for the scenes")
    parser.add_argument(
        "--max-height", type=int, default=2600, help="crop pages taller than this (px)"
    )
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        sys.stderr.write(f"{CHROMIUM} is missing: apt-get install chromium\n")
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    run = DemoRun()
    with tempfile.TemporaryDirectory(prefix="turnout-screenshots-") as tmp:
        state = Path(tmp) / "state"
        log_path = Path(tmp) / "demo.log"
        with log_path.open("w", encoding="utf-8") as log:
            try:
                with _demo(state, _free_port(), args.speed, log) as lines:
                    _wait_for_scenes(lines, run, args.timeout)
                    with sync_playwright() as p:
                        browser = p.chromium.launch(
                            executable_path=CHROMIUM, args=list(CHROMIUM_ARGS)
                        )
                        try:
                            saved = take(browser, run, args.out, max_height=args.max_height)
                        finally:
                            browser.close()
            except BaseException:
                sys.stderr.write(log_path.read_text(encoding="utf-8"))
                raise
    for path in saved:
        sys.stdout.write(f"{path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
