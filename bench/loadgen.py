"""HTTP/1.1 load clients on raw sockets, light enough to measure a Python server with.

Two clients share one response parser:

- ``SyncClient``: one keep-alive connection, blocking socket, one request at a time.
  Used for latency at 1 connection (no event loop between the wire and the clock).
- ``run_load``: N keep-alive connections on an asyncio (uvloop when installed) event
  loop, each an ``asyncio.Protocol`` that sends its next request as soon as the previous
  answer is complete (closed loop). Records per-request latency, status, and optionally
  the value of one response header (e.g. ``x-turnout-version``), and counts connection
  errors (a dropped connection is reopened and the lost request counted as failed).

Only 127.0.0.1 is ever a target; every run is bounded by a duration or a count.
"""

from __future__ import annotations

import asyncio
import math
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

HOST = "127.0.0.1"


def build_request(
    method: str,
    path: str,
    port: int,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> bytes:
    """One raw HTTP/1.1 keep-alive request, built once and sent many times."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{port}"]
    for k, v in (headers or {}).items():
        lines.append(f"{k}: {v}")
    if body or method in ("POST", "PUT"):
        if not any(k.lower() == "content-type" for k in (headers or {})):
            lines.append("Content-Type: application/json")
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class ParseError(Exception):
    pass


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


def parse_response(buf: bytearray, want_headers: bool = True) -> tuple[Response, int] | None:
    """Parse one complete response from the start of BUF: (response, bytes used) or None."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = bytes(buf[:end]).decode("latin-1")
    lines = head.split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
        raise ParseError(f"bad status line {lines[0]!r}")
    status = int(parts[1])
    headers: dict[str, str] = {}
    length = None
    chunked = False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        value = value.strip()
        if name == "content-length":
            length = int(value)
        elif name == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
        if want_headers:
            headers[name] = value
    start = end + 4
    if chunked:
        body = bytearray()
        pos = start
        while True:
            eol = buf.find(b"\r\n", pos)
            if eol < 0:
                return None
            size = int(bytes(buf[pos:eol]).split(b";")[0], 16)
            if size == 0:
                # Trailers are not used by any server here: expect the final CRLF.
                if len(buf) < eol + 4:
                    return None
                return Response(status, headers, bytes(body)), eol + 4
            if len(buf) < eol + 2 + size + 2:
                return None
            body += buf[eol + 2 : eol + 2 + size]
            pos = eol + 2 + size + 2
    if length is None:
        length = 0  # every server measured here sends content-length or chunked
    if len(buf) < start + length:
        return None
    return Response(status, headers, bytes(buf[start : start + length])), start + length


class SyncClient:
    """One blocking keep-alive connection to 127.0.0.1:PORT."""

    def __init__(self, port: int, timeout: float = 10.0) -> None:
        self.port = port
        self.timeout = timeout
        self._sock: socket.socket | None = None
        self._buf = bytearray()

    def _connect(self) -> socket.socket:
        sock = socket.create_connection((HOST, self.port), timeout=self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buf.clear()
        self._sock = sock
        return sock

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def request(self, raw: bytes) -> Response:
        sock = self._sock or self._connect()
        try:
            sock.sendall(raw)
            buf = self._buf
            while True:
                parsed = parse_response(buf)
                if parsed is not None:
                    resp, used = parsed
                    del buf[:used]
                    return resp
                chunk = sock.recv(65536)
                if not chunk:
                    raise ConnectionError("server closed the connection")
                buf += chunk
        except BaseException:
            self.close()
            raise

    def timed(self, raw: bytes, n: int) -> tuple[list[int], Counter[int]]:
        """Send RAW N times; return latencies in ns and a count per status."""
        sock = self._sock or self._connect()
        out: list[int] = []
        statuses: Counter[int] = Counter()
        clock = time.perf_counter_ns
        buf = self._buf
        recv = sock.recv
        for _ in range(n):
            t0 = clock()
            sock.sendall(raw)
            while True:
                parsed = parse_response(buf, want_headers=False)
                if parsed is not None:
                    break
                chunk = recv(65536)
                if not chunk:
                    self.close()
                    raise ConnectionError("server closed the connection")
                buf += chunk
            out.append(clock() - t0)
            resp, used = parsed
            del buf[:used]
            statuses[resp.status] += 1
        return out, statuses


# -- closed-loop load on many connections --------------------------------------------------


@dataclass
class LoadResult:
    connections: int
    duration_s: float  # the measured window
    latencies_ns: list[int]
    statuses: Counter[int]
    connection_errors: int
    header_values: Counter[str] = field(default_factory=Counter)
    # (monotonic completion time, status, header value, latency ns) per request, if asked
    timeline: list[tuple[float, int, str, int]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # first few failure descriptions

    @property
    def requests(self) -> int:
        return len(self.latencies_ns)

    @property
    def ok(self) -> int:
        return self.statuses.get(200, 0)

    @property
    def failed(self) -> int:
        return self.requests - self.ok + self.connection_errors

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s > 0 else 0.0


class _Shared:
    def __init__(
        self,
        requests: Sequence[bytes],
        t_measure: float,
        t_end: float,
        header: str | None,
        timeline: bool,
    ) -> None:
        self.requests = requests
        self.t_measure = t_measure
        self.t_end = t_end
        self.header = header
        self.keep_timeline = timeline
        self.latencies: list[int] = []
        self.statuses: Counter[int] = Counter()
        self.header_values: Counter[str] = Counter()
        self.timeline: list[tuple[float, int, str, int]] = []
        self.connection_errors = 0
        self.failures: list[str] = []
        self.counter = 0

    def note_failure(self, text: str) -> None:
        if len(self.failures) < 20:
            self.failures.append(text)


class _Conn(asyncio.Protocol):
    def __init__(self, shared: _Shared, done: asyncio.Future[None]) -> None:
        self.s = shared
        self.done = done
        self.buf = bytearray()
        self.transport: asyncio.Transport | None = None
        self.t0 = 0
        self.in_flight = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._send()

    def _send(self) -> None:
        s = self.s
        if time.monotonic() >= s.t_end:
            self.in_flight = False
            assert self.transport is not None
            self.transport.close()
            return
        raw = s.requests[s.counter % len(s.requests)]
        s.counter += 1
        self.in_flight = True
        self.t0 = time.perf_counter_ns()
        assert self.transport is not None
        self.transport.write(raw)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        s = self.s
        while True:
            try:
                parsed = parse_response(self.buf, want_headers=s.header is not None)
            except ParseError as exc:
                s.note_failure(f"parse error: {exc}")
                s.connection_errors += 1
                assert self.transport is not None
                self.transport.close()
                return
            if parsed is None:
                return
            resp, used = parsed
            del self.buf[:used]
            now_ns = time.perf_counter_ns()
            now = time.monotonic()
            self.in_flight = False
            if now >= s.t_measure:
                latency = now_ns - self.t0
                s.latencies.append(latency)
                s.statuses[resp.status] += 1
                value = resp.headers.get(s.header, "") if s.header else ""
                if s.header:
                    s.header_values[value] += 1
                if s.keep_timeline:
                    s.timeline.append((now, resp.status, value, latency))
                if resp.status != 200:
                    s.note_failure(f"HTTP {resp.status}: {resp.body[:200]!r}")
            self._send()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.in_flight:
            self.s.connection_errors += 1
            self.s.note_failure(f"connection lost mid-request: {exc!r}")
        if not self.done.done():
            self.done.set_result(None)


async def _one_connection(port: int, shared: _Shared) -> None:
    loop = asyncio.get_running_loop()
    while time.monotonic() < shared.t_end:
        done: asyncio.Future[None] = loop.create_future()
        try:
            await loop.create_connection(lambda d=done: _Conn(shared, d), HOST, port)  # type: ignore[misc]
        except OSError as exc:
            shared.connection_errors += 1
            shared.note_failure(f"connect failed: {exc!r}")
            await asyncio.sleep(0.01)
            continue
        await done


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop

        return uvloop.new_event_loop()  # type: ignore[no-any-return]
    except ImportError:
        return asyncio.new_event_loop()


def run_load(
    port: int,
    requests: Sequence[bytes],
    *,
    connections: int,
    duration_s: float,
    warmup_s: float = 0.0,
    header: str | None = None,
    timeline: bool = False,
) -> LoadResult:
    """Closed-loop load: CONNECTIONS keep-alive connections for WARMUP_S + DURATION_S.

    Requests are taken round-robin from REQUESTS. Only answers completed after the
    warm-up count. Runs its own event loop (call from any thread).
    """
    loop = _new_loop()
    try:
        start = time.monotonic()
        shared = _Shared(
            requests, start + warmup_s, start + warmup_s + duration_s, header, timeline
        )

        async def main() -> None:
            await asyncio.gather(*(_one_connection(port, shared) for _ in range(connections)))

        loop.run_until_complete(main())
        measured = min(time.monotonic(), shared.t_end) - shared.t_measure
    finally:
        loop.close()
    return LoadResult(
        connections=connections,
        duration_s=measured,
        latencies_ns=shared.latencies,
        statuses=shared.statuses,
        connection_errors=shared.connection_errors,
        header_values=shared.header_values,
        timeline=shared.timeline,
        failures=shared.failures,
    )


class BackgroundLoad:
    """``run_load`` in a thread, so the caller can change things while it runs."""

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs
        self.result: LoadResult | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="bench-load", daemon=True)

    def _run(self) -> None:
        try:
            self.result = run_load(**self.kwargs)
        except BaseException as exc:  # reported by join()
            self.error = exc

    def start(self) -> BackgroundLoad:
        self._thread.start()
        return self

    def join(self, timeout: float | None = None) -> LoadResult:
        self._thread.join(timeout)
        if self.error is not None:
            raise self.error
        assert self.result is not None, "load generator did not finish"
        return self.result


# -- statistics ---------------------------------------------------------------------------


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of an ascending sequence."""
    if not sorted_values:
        return float("nan")
    k = math.ceil(q / 100.0 * len(sorted_values)) - 1
    return float(sorted_values[max(0, min(len(sorted_values) - 1, k))])


def summarize_ns(latencies_ns: Sequence[int]) -> dict[str, float]:
    """p50/p90/p99/max/mean in milliseconds."""
    xs = sorted(latencies_ns)
    if not xs:
        return {"n": 0}
    ms: Callable[[float], float] = lambda v: round(v / 1e6, 4)  # noqa: E731
    return {
        "n": len(xs),
        "p50_ms": ms(percentile(xs, 50)),
        "p90_ms": ms(percentile(xs, 90)),
        "p99_ms": ms(percentile(xs, 99)),
        "max_ms": ms(xs[-1]),
        "mean_ms": ms(sum(xs) / len(xs)),
    }
