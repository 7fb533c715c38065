"""A Telegram Bot API stub on 127.0.0.1 that records every call, for end-to-end tests of the real PTB
Application. It understands the methods the bot uses and can be told to fail the next calls (429, 5xx)."""

from __future__ import annotations

import contextlib
import itertools
import json
import socket
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

BOT = {"id": 999000, "is_bot": True, "first_name": "Resident", "username": "resident_test_bot"}


class BotApiStub:
    def __init__(self, token: str = "123456:TEST-TOKEN"):
        self.token = token
        self.calls: list[tuple[str, dict]] = []
        self.call_times: list[float] = []  # perf_counter of each call, in the order of `calls`
        self.sent_to: Counter[int] = Counter()  # sendMessage calls per chat id
        self.updates: list[dict] = []
        self.failures: dict[str, list[tuple[int, dict]]] = {}
        self.cond = threading.Condition()
        self._ids = itertools.count(1000)
        self._update_ids = itertools.count(1)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/bot"

    def start(self) -> BotApiStub:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- driving the stub -------------------------------------------------------------------------

    def push(self, update: dict) -> dict:
        with self.cond:
            update.setdefault("update_id", next(self._update_ids))
            self.updates.append(update)
            self.cond.notify_all()
        return update

    def fail_next(self, method: str, status: int, times: int = 1, retry_after: int | None = None) -> None:
        """Fail the next calls of `method` with `status`; status 0 drops the connection (a network error);
        a negative status answers normally after that many seconds (a timeout on the bot's side)."""
        body = {"ok": False, "error_code": status, "description": f"stub failure {status}"}
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
            body["description"] = f"Too Many Requests: retry after {retry_after}"
        self.failures.setdefault(method, []).extend([(status, body)] * times)

    def sent(self, method: str = "sendMessage") -> list[dict]:
        with self.cond:
            return [params for m, params in self.calls if m == method]

    def wait_for(self, method: str, count: int = 1, timeout: float = 15.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        with self.cond:
            while len([1 for m, _ in self.calls if m == method]) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"stub saw {len(self.sent(method))} {method} call(s), wanted {count}; "
                                         f"calls: {[m for m, _ in self.calls]}")
                self.cond.wait(left)
            return [params for m, params in self.calls if m == method]

    # -- the HTTP side ----------------------------------------------------------------------------

    def _handler(self):
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def do_POST(self):
                prefix = f"/bot{stub.token}/"
                if not self.path.startswith(prefix):
                    return self._reply(404, {"ok": False, "error_code": 404, "description": "Not Found"})
                method = self.path[len(prefix):]
                length = int(self.headers.get("content-length") or 0)
                params = stub._params(self.rfile.read(length), self.headers.get("content-type", ""))
                status, body = stub._call(method, params)
                if status == 0:  # a network failure: the connection drops without an answer
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self._reply(status, body)

            do_GET = do_POST

            def _reply(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up
                    self.wfile.write(data)

        return Handler

    @staticmethod
    def _params(raw: bytes, content_type: str) -> dict:
        if not raw:
            return {}
        if "json" in content_type:
            return json.loads(raw)
        out = {}
        for key, values in parse_qs(raw.decode(), keep_blank_values=True).items():
            value = values[0]
            if value[:1] in "[{":
                with contextlib.suppress(ValueError):
                    value = json.loads(value)
            out[key] = value
        return out

    def _call(self, method: str, params: dict) -> tuple[int, dict]:
        if method == "getUpdates":
            result = self._get_updates(params)
            if isinstance(result, _Failure):
                return result.status, result.body
            return 200, {"ok": True, "result": result}
        with self.cond:
            self.calls.append((method, params))
            self.call_times.append(time.perf_counter())
            if method == "sendMessage":
                self.sent_to[int(params.get("chat_id") or 0)] += 1
            self.cond.notify_all()
            queued = self.failures.get(method)
            failure = queued.pop(0) if queued else None
        if failure is not None and failure[0] < 0:
            time.sleep(-failure[0])
        elif failure is not None:
            return failure
        return 200, {"ok": True, "result": self._result(method, params)}

    def _get_updates(self, params: dict):
        with self.cond:
            queued = self.failures.get("getUpdates")
            if queued:
                self.calls.append(("getUpdates", params))
                self.call_times.append(time.perf_counter())
                status, body = queued.pop(0)
                return _Failure(status, body)
        offset = int(params.get("offset") or 0)
        wait = min(float(params.get("timeout") or 0), 1.0)
        deadline = time.monotonic() + wait
        with self.cond:
            self.calls.append(("getUpdates", params))
            self.call_times.append(time.perf_counter())
            while True:
                ready = [u for u in self.updates if u["update_id"] >= offset]
                left = deadline - time.monotonic()
                if ready or left <= 0:
                    return ready
                self.cond.wait(left)

    def _result(self, method: str, params: dict):
        if method == "getMe":
            return BOT
        if method in ("sendMessage", "editMessageText"):
            chat_id = int(params.get("chat_id") or 0)
            msg = {"message_id": next(self._ids), "date": int(time.time()), "text": params.get("text", ""),
                   "chat": {"id": chat_id, "type": "private"}, "from": BOT}
            if isinstance(params.get("reply_markup"), dict):
                msg["reply_markup"] = params["reply_markup"]
            return msg
        if method == "editMessageReplyMarkup":
            msg = {"message_id": int(params.get("message_id") or 0), "date": int(time.time()),
                   "chat": {"id": int(params.get("chat_id") or 0), "type": "private"}, "from": BOT, "text": ""}
            if isinstance(params.get("reply_markup"), dict):
                msg["reply_markup"] = params["reply_markup"]
            return msg
        if method == "getWebhookInfo":
            return {"url": "", "has_custom_certificate": False, "pending_update_count": 0}
        return True


class _Failure:
    def __init__(self, status: int, body: dict):
        self.status, self.body = status, body


# -- updates as Telegram sends them ----------------------------------------------------------------

_message_ids = itertools.count(1)


def user(user_id: int) -> dict:
    return {"id": user_id, "is_bot": False, "first_name": "居民", "language_code": "zh-hans"}


def message_update(text: str, user_id: int = 4242, chat_id: int | None = None, chat_type: str = "private",
                   reply_to: dict | None = None) -> dict:
    chat_id = chat_id if chat_id is not None else user_id
    msg = {"message_id": next(_message_ids), "date": int(time.time()), "text": text, "from": user(user_id),
           "chat": {"id": chat_id, "type": chat_type, **({"title": "小区群"} if chat_type != "private" else {})}}
    if text.startswith("/"):
        msg["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    if reply_to is not None:
        msg["reply_to_message"] = reply_to
    return {"message": msg}


def callback_update(data: str, user_id: int = 4242, message: dict | None = None) -> dict:
    message = message or {"message_id": 1, "date": int(time.time()), "text": "…",
                          "chat": {"id": user_id, "type": "private"}, "from": BOT}
    return {"callback_query": {"id": str(next(_message_ids)), "from": user(user_id), "chat_instance": "ci",
                               "data": data, "message": message}}
