"""The ceiling: a bare Starlette app that answers one path with fixed bytes, on the same uvicorn
settings and server stack as `otpsim serve`, so the benchmark compares otpsim with the least a
Python server does.

    python bench/bare.py --port 9001 --method POST --path /x --status 200 --body-file answer.bin [--http h11 --loop asyncio]
"""

import argparse
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

from simulator.core.serving.server import server_stack


def build(method: str, path: str, status: int, body: bytes, content_type: str | None) -> Starlette:
    headers = {"content-type": content_type} if content_type else None

    async def answer(request):
        await request.body()  # read it, as any real endpoint would
        return Response(body, status_code=status, headers=headers)

    return Starlette(routes=[Route(path, answer, methods=[method])])


def main():
    options = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    options.add_argument("--port", type=int, required=True)
    options.add_argument("--method", required=True)
    options.add_argument("--path", required=True)
    options.add_argument("--status", type=int, required=True)
    options.add_argument("--body-file", required=True)
    options.add_argument("--content-type")
    options.add_argument("--http", default="auto", help="HTTP parser, as `otpsim serve --http`")
    options.add_argument("--loop", default="auto", help="event loop, as `otpsim serve --loop`")
    args = options.parse_args()
    app = build(args.method, args.path, args.status, Path(args.body_file).read_bytes(), args.content_type)
    stack = server_stack(args.http, args.loop)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False, proxy_headers=False,
                server_header=False, http=stack.http, loop=stack.loop)


if __name__ == "__main__":
    main()
