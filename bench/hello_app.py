"""The P1 anchor: FastAPI hello-world on the gateway's server settings.

uvicorn with uvloop and httptools, one worker, access log off, log level warning: the
same settings ``turnout serve`` uses (turnout/cli/serve.py), on uvicorn's stock
httptools protocol, where ``turnout serve`` runs its subclass of it
(router/api/protocol.py) that answers inference requests inside the parser.

- ``GET /hello``: FastAPI's tutorial endpoint, returns ``{"message": "Hello World"}``.
- ``POST /hello``: the same, after reading the request body (a body the size of an
  inference request, so the anchor also pays for receiving it).
"""

from __future__ import annotations

import argparse

import uvicorn
from fastapi import FastAPI, Request

app = FastAPI()


@app.get("/hello")
async def hello() -> dict[str, str]:
    return {"message": "Hello World"}


@app.post("/hello")
async def hello_post(request: Request) -> dict[str, str]:
    await request.body()
    return {"message": "Hello World"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=args.port,
        workers=1,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
