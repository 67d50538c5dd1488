"""The ceiling: a bare Starlette app that answers one path with fixed bytes, on the same uvicorn
settings as `otpsim serve`, so the benchmark compares otpsim with the least a Python server does.

    python bench/bare.py --port 9001 --method POST --path /x --status 200 --body-file answer.bin
"""

import argparse
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route


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
    args = options.parse_args()
    app = build(args.method, args.path, args.status, Path(args.body_file).read_bytes(), args.content_type)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
