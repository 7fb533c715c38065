"""Reading what an HTTP channel receives: a bounded body, JSON that cannot exhaust the parser.

Every refusal is a `BadRequest` with a status and a short reason; the channel answers with it and logs
one line (never the body: it may hold a resident's message or id).
"""

from __future__ import annotations

import json

from starlette.requests import Request

MAX_DEPTH = 32  # nesting no client of ours needs; far below the recursion limit


class BadRequest(Exception):
    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refusing more than `limit` bytes (413) without reading it all into memory first."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise BadRequest(413, "request body too large")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BadRequest(413, "request body too large")
    return bytes(body)


async def read_json(request: Request, limit: int) -> object:
    """The body as JSON; 400 for anything that is not JSON, or nested deeper than MAX_DEPTH."""
    body = await read_body(request, limit)
    if _too_deep(body):
        raise BadRequest(400, f"JSON nested deeper than {MAX_DEPTH} levels")
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise BadRequest(400, "body must be JSON") from None


def _too_deep(body: bytes) -> bool:
    """Counted on the raw bytes, before the parser recurses into them (brackets inside strings are skipped).
    Scanned only when there are enough brackets to be deep at all: ordinary bodies cost two counts."""
    if body.count(b"[") + body.count(b"{") <= MAX_DEPTH:
        return False
    depth = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > MAX_DEPTH:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False
