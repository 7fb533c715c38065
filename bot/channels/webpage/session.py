"""The browser's session: a random id in a cookie signed with a key derived from USER_ID_SALT.

The page never holds an API token. Its session id names the resident to the channel kit (hashed there like
every channel's ids), so the conversation and the per-resident rate limit are the session's. The signature
stops a visitor from choosing someone else's session id or forging an old one: a cookie that does not
verify, or is older than MAX_AGE, is no session at all.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable

COOKIE = "resident_bot_session"
MAX_AGE = 24 * 3600  # seconds a session lasts from its first page view; the page then renews it
VERSION = "v1"


class SessionSigner:
    def __init__(self, salt: str, *, clock: Callable[[], float] = time.time):
        # A key of its own (not the salt itself), so a cookie's signature says nothing about residents' hashes.
        self._key = hashlib.sha256(b"resident-bot web session\0" + salt.encode()).digest()
        self.clock = clock

    def issue(self) -> tuple[str, str]:
        """(session id, cookie value) for a new session."""
        session = base64.urlsafe_b64encode(secrets.token_bytes(18)).decode()
        issued = str(int(self.clock()))
        return session, f"{VERSION}.{session}.{issued}.{self._sign(session, issued)}"

    def read(self, cookie: str | None) -> str | None:
        """The session id of a cookie this server signed and that has not expired, else None."""
        if not cookie or len(cookie) > 200:
            return None
        parts = cookie.split(".")
        if len(parts) != 4 or parts[0] != VERSION or not parts[2].isdigit():
            return None
        _, session, issued, mac = parts
        if not hmac.compare_digest(mac, self._sign(session, issued)):
            return None
        age = self.clock() - int(issued)
        return session if -60 <= age <= MAX_AGE else None  # a minute of clock skew between replicas

    def _sign(self, session: str, issued: str) -> str:
        digest = hmac.new(self._key, f"{VERSION}\0{session}\0{issued}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")
