"""The ceiling: a bare Starlette app returning a fixed JSON body, served by the same uvicorn as the sandbox."""

from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

BODY = b'{"code":0,"message":"Success","payload":{"enKashCardId":"EKC0000000","otbBalance":100}}'


async def fixed(request):
    await request.body()
    return Response(BODY, media_type="application/json")


async def health(request):
    return Response(b'{"status":"UP"}', media_type="application/json")


app = Starlette(routes=[Route("/_sandbox/health", health), Route("/{path:path}", fixed, methods=["GET", "POST"])])
