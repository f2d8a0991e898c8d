"""The gateway with one part of its hot path switched off, for end-to-end contrasts.

Benchmark-only: the project has no switch for these, so this launcher patches the
running process and then starts uvicorn exactly as ``turnout serve`` does (uvloop,
turnout's httptools protocol, one worker, access log off). Settings come from
``TURNOUT_*`` variables.

--patch none          the stock gateway, through this launcher (the baseline)
--patch no-telemetry  ``Recorder.record`` is a no-op and no input row is sketched
--patch no-sketch     requests are counted, but no input row is passed to the sketcher
"""

from __future__ import annotations

import argparse
from typing import Any

import uvicorn


def _patch(name: str) -> None:
    import router.serving.gateway as gateway_module
    from router.telemetry.recorder import Recorder

    def no_sketch(loaded: Any, feeds: Any) -> dict[str, Any]:
        return {}

    def no_record(self: Any, *args: Any, **kwargs: Any) -> None:
        return None

    if name in ("no-telemetry", "no-sketch"):
        gateway_module._sketch_args = no_sketch  # type: ignore[assignment]
    if name == "no-telemetry":
        Recorder.record = no_record  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--patch", choices=["none", "no-telemetry", "no-sketch"], default="none")
    args = parser.parse_args()
    _patch(args.patch)
    from router.api.protocol import GatewayHttpProtocol

    uvicorn.run(
        "turnout.serve:create_gateway_app",
        factory=True,
        host="127.0.0.1",
        port=args.port,
        workers=1,
        loop="uvloop",
        http=GatewayHttpProtocol,
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
