"""The chat page over plain HTTP, as a browser and as an attacker would call it: the page and its headers,
the signed session cookie, the same-origin rule, bad input, limits per session and per address."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from starlette.testclient import TestClient

from bot.app import build_app
from bot.channels.webpage.session import COOKIE, MAX_AGE, SessionSigner
from bot.channels.webpage.view import MAX_TEXT
from bot.config import SettingsError, load_settings
from bot.ratelimit import InProcessRateLimiter
from bot.server import create_web_app
from tests.auxil.kb import BUNDLED, INTENTS

SITE = "http://127.0.0.1:8080"
SAME = {"origin": SITE}
MESSAGES = "/web/messages"


def make_app(tmp_path, **settings):
    return build_app(load_settings(database_url=f"sqlite:///{tmp_path}/page.sqlite3", user_id_salt="page-salt",
                                   redis_url="", knowledge_dir=BUNDLED, intents_dir=INTENTS, **settings))


def browser(app, base_url=SITE, limiter=None, address="198.51.100.7") -> TestClient:
    """A client that keeps cookies like a browser tab: open the page first to get the session."""
    web = create_web_app(app, telegram=False, limiter=limiter or InProcessRateLimiter(100))
    return TestClient(web, base_url=base_url, client=(address, 50000), raise_server_exceptions=False)


def ask(client, body, headers=SAME):
    return client.post(MESSAGES, json=body, headers=headers)


def stored(app):
    assert app.storage.flush(10) == 0
    since = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    return app.repository.count_interactions(), app.repository.feedback(since)


def test_the_page_its_headers_and_its_cookie(tmp_path):
    app = make_app(tmp_path)
    with browser(app) as client:
        page = client.get("/")
        assert page.status_code == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
        assert "<title>城市副中心便民问答</title>" in page.text and '<html lang="zh-Hans">' in page.text
        assert '<label for="question"' in page.text  # the input has a visible label
        csp = dict(d.strip().split(" ", 1) for d in page.headers["content-security-policy"].split(";"))
        assert csp["default-src"] == "'none'" and csp["script-src"] == "'self'" and csp["style-src"] == "'self'"
        assert csp["frame-ancestors"] == "'self'" and csp["require-trusted-types-for"] == "'script'"
        assert "unsafe" not in page.headers["content-security-policy"]
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["referrer-policy"] == "no-referrer"
        assert page.headers["x-frame-options"] == "SAMEORIGIN"
        cookie = page.headers["set-cookie"]
        assert cookie.startswith(f"{COOKIE}=v1.") and "HttpOnly" in cookie and "SameSite=strict" in cookie
        assert "Secure" not in cookie and "Path" not in cookie and "Max-Age" not in cookie
        # Nothing from anywhere else: every link and script is the page's own, relative (works under a prefix).
        links = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert links and all(not re.match(r"[a-z]+:|//|/", link) for link in links if link != "#question"), links
        assert "<script>" not in page.text and " style=" not in page.text and " on" not in page.text.lower()
        for link in links:
            if link.startswith("web/"):
                asset = client.get("/" + link)
                assert asset.status_code == 200 and asset.headers["x-content-type-options"] == "nosniff"
                assert "immutable" in asset.headers["cache-control"]
        assert client.get("/web/page.js").headers["content-type"].startswith("text/javascript")
        assert client.get("/web/../bot/config.py").status_code == 404
        assert client.get("/web/secrets.txt").status_code == 404
        # A second visit keeps the session.
        assert "set-cookie" not in client.get("/").headers


def test_the_pages_script_never_parses_text_as_html():
    from bot.channels.webpage.endpoint import load_assets

    script = load_assets()["page.js"].body.decode()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "Function("):
        assert sink not in script
    assert script.count("textContent") >= 2


def test_https_makes_the_cookie_secure(tmp_path):
    app = make_app(tmp_path)
    with browser(app, base_url="https://bot.example.gov.cn") as client:
        cookie = client.get("/").headers["set-cookie"]
        assert "Secure" in cookie
        r = ask(client, {"text": "潞河附校晚托到几点"}, {"origin": "https://bot.example.gov.cn"})
        assert r.status_code == 200 and r.json()["source"].startswith("来源：")


def test_a_tampered_or_foreign_cookie_is_no_session(tmp_path):
    app = make_app(tmp_path)
    with browser(app) as client:
        client.get("/")
        good = client.cookies[COOKIE]
        version, session, issued, mac = good.split(".")
        other_salt = SessionSigner("another-salt").issue()[1]
        flipped = session[:-1] + ("A" if session[-1] != "A" else "B")
        for forged in (f"{version}.{flipped}.{issued}.{mac}", f"{version}.{session}.{int(issued) + 1}.{mac}",
                       f"{version}.{session}.{issued}.{mac[:-1]}x", f"v2.{session}.{issued}.{mac}",
                       f"{version}.{session}.{issued}", other_salt, "", "x" * 5000):
            client.cookies.clear()
            client.cookies.set(COOKIE, forged)
            r = ask(client, {"text": "潞河附校晚托到几点"})
            assert r.status_code == 403, forged
            assert r.json() == {"error": "页面已过期，请刷新页面后再问。", "code": "session"}
        client.cookies.clear()
        assert ask(client, {"text": "潞河附校晚托到几点"}).status_code == 403  # no cookie at all
        # Loading the page again gives a new session, which works.
        client.cookies.clear()
        client.cookies.set(COOKIE, f"{version}.{flipped}.{issued}.{mac}")
        renewed = client.get("/").headers["set-cookie"]
        assert renewed.split(";")[0] != f"{COOKIE}={good}"
        client.cookies.clear()
        client.cookies.set(COOKIE, renewed.split(";")[0].split("=", 1)[1])
        assert ask(client, {"text": "潞河附校晚托到几点"}).status_code == 200
    assert stored(app)[0] == 1


def test_sessions_expire():
    now = [1_800_000_000.0]
    signer = SessionSigner("salt", clock=lambda: now[0])
    session, cookie = signer.issue()
    assert signer.read(cookie) == session
    now[0] += MAX_AGE
    assert signer.read(cookie) == session
    now[0] += 1
    assert signer.read(cookie) is None


def test_only_the_page_itself_may_post(tmp_path):
    app = make_app(tmp_path)
    with browser(app) as client:
        client.get("/")
        body = {"text": "潞河附校晚托到几点"}
        for headers in ({}, {"origin": "https://evil.example"}, {"origin": "null"},
                        {"origin": "http://127.0.0.1:8081"}, {"origin": "http://127.0.0.1"},
                        {**SAME, "sec-fetch-site": "cross-site"}, {**SAME, "sec-fetch-site": "same-site"}):
            r = ask(client, body, headers)
            assert r.status_code == 403 and r.json()["code"] == "origin", headers
        # A form on another site can only send form encodings or text/plain: refused before it is read.
        form = client.post(MESSAGES, content='{"text": "潞河附校晚托到几点"}',
                           headers={**SAME, "content-type": "text/plain"})
        assert form.status_code == 415
        assert ask(client, body, {**SAME, "sec-fetch-site": "same-origin"}).status_code == 200
    assert stored(app)[0] == 1


def test_bad_input_gets_a_message_for_the_page_and_400(tmp_path):
    app = make_app(tmp_path)
    with browser(app) as client:
        client.get("/")
        for body, code, says in [
            ({"text": ""}, "empty", "请先输入您的问题"),
            ({"text": " \n\t "}, "empty", "请先输入您的问题"),
            ({"text": "问" * (MAX_TEXT + 1)}, "too_long",
             f"问题太长了（{MAX_TEXT + 1}个字），请删减到{MAX_TEXT}个字以内"),
            ({"text": 42}, "bad_request", "无法识别"),
            ({"action": "rm -rf", "arg": ""}, "bad_request", "无法识别"),
            ({"action": "ask", "arg": "../../etc/passwd"}, "bad_request", "无法识别"),
            ({"action": "helpful", "arg": "not-an-interaction"}, "bad_request", "无法识别"),
            ({"action": "topic", "arg": "话" * 61}, "bad_request", "无法识别"),
            ({"action": "welcome", "arg": ["x"]}, "bad_request", "无法识别"),
            (["text"], "bad_request", "无法识别"),
        ]:
            r = ask(client, body)
            assert (r.status_code, r.json()["code"]) == (400, code), body
            assert says in r.json()["error"], r.json()
        for raw in (b"not json", b"{\"text\": ", "[" * 40 + "]" * 40, b"\xff\xfe"):
            r = client.post(MESSAGES, content=raw, headers={**SAME, "content-type": "application/json"})
            assert r.status_code == 400 and r.json()["error"] == "页面发来的内容无法识别，请刷新页面后再试。"
        big = client.post(MESSAGES, content=b'{"text": "' + b"a" * 20_000 + b'"}',
                          headers={**SAME, "content-type": "application/json"})
        assert big.status_code == 413 and "无法识别" in big.json()["error"]
        # Exactly the limit is a question like any other.
        assert ask(client, {"text": "厂通路" + "问" * (MAX_TEXT - 3)}).status_code == 200
    assert stored(app)[0] == 1


def test_limits_per_session_and_per_address(tmp_path):
    app = make_app(tmp_path, rate_limit_per_minute=2, webpage_rate_per_minute=5)
    limiter = InProcessRateLimiter(2)
    web = create_web_app(app, telegram=False, limiter=limiter)

    def tab(address):
        c = TestClient(web, base_url=SITE, client=(address, 50000))
        c.get("/")
        return c

    with TestClient(web, base_url=SITE):  # the lifespan, once
        first = tab("203.0.113.1")
        codes = [ask(first, {"text": "你好"}).status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        r = ask(first, {"text": "你好"})
        assert r.json() == {"error": "您发消息有点快，请稍等一分钟再问。", "code": "rate_limited"}
        assert r.headers["retry-after"] == "60"
        # A new tab from the same address is a new session, but the address's own limit holds: 2 + 2 + 1 = 5.
        second = tab("203.0.113.1")
        assert [ask(second, {"text": "你好"}).status_code for _ in range(2)] == [200, 200]
        third = tab("203.0.113.1")
        assert [ask(third, {"text": "你好"}).status_code for _ in range(2)] == [200, 429]
        # Another address is not held up by the first.
        assert ask(tab("203.0.113.2"), {"text": "你好"}).status_code == 200


def test_the_conversation_is_the_sessions(tmp_path):
    app = make_app(tmp_path)
    with browser(app) as one, browser(app) as two:
        one.get("/")
        two.get("/")
        answer = ask(one, {"text": "潞河附校晚托到几点"}).json()
        assert answer["status"] == "answer" and answer["source"].endswith("2021年12月28日")
        assert ask(one, {"text": "那谁能参加"}).json()["paragraphs"][0]["text"] != \
            ask(two, {"text": "那谁能参加"}).json()["paragraphs"][0]["text"]
        helpful = answer["feedback"]["buttons"][0]["do"]
        assert answer["feedback"]["buttons"][0]["label"] == "有帮助"
        # Another session cannot rate this answer: the stale-button notice, nothing recorded.
        stale = ask(two, helpful).json()
        assert stale["paragraphs"][0]["text"] == "这个按钮已失效，请直接输入您的问题。"
        thanks = ask(one, helpful).json()
        assert thanks["paragraphs"][0]["text"] == "谢谢您的反馈！"
    _count, feedback = stored(app)
    assert [(f.interaction_id, f.helpful) for f in feedback] == [(helpful["arg"], True)]


def test_traditional_in_traditional_out_buttons_included(tmp_path):
    app = make_app(tmp_path)
    with browser(app) as client:
        client.get("/")
        reply = ask(client, {"text": "潞河附校晚託到幾點"}).json()
        assert reply["lang"] == "zh-Hant" and "來源" in reply["source"]
        assert [b["label"] for b in reply["feedback"]["buttons"]] == ["有幫助", "沒幫助"]
        assert reply["feedback"]["prompt"] == "這個回答有幫助嗎？"


def test_navigation_goes_through_the_dialogue(tmp_path):
    app = make_app(tmp_path)
    with browser(app) as client:
        client.get("/")
        welcome = ask(client, {"action": "welcome", "arg": ""}).json()
        assert welcome["suggestions"] and all(s["do"]["action"] == "ask" for s in welcome["suggestions"])
        topics = ask(client, {"action": "topics", "arg": ""}).json()
        assert topics["choices"][0]["label"].startswith("1. ") and topics["choices"][0]["do"]["action"] == "topic"
        questions = ask(client, topics["choices"][0]["do"]).json()
        assert questions["choices"] and questions["choices"][0]["do"]["action"] == "ask"
        answer = ask(client, questions["choices"][0]["do"]).json()
        assert answer["status"] == "answer" and answer["source"]
        # Typing the number works as on every text channel.
        ask(client, {"action": "topics", "arg": ""})
        assert ask(client, {"text": "1"}).json()["choices"] == questions["choices"]
    assert stored(app)[0] == 6  # navigation replies are recorded like any reply


def test_settings(tmp_path):
    app = make_app(tmp_path, webpage_enabled=False)
    with browser(app) as client:
        assert client.get("/").status_code == 404
        assert client.post(MESSAGES, json={"text": "你好"}, headers=SAME).status_code == 404
    framed = make_app(tmp_path / "f", webpage_frame_ancestors="https://www.example.gov.cn, https://x.example.gov.cn")
    with browser(framed) as client:
        page = client.get("/")
        assert "frame-ancestors 'self' https://www.example.gov.cn https://x.example.gov.cn" in \
            page.headers["content-security-policy"]
        assert "x-frame-options" not in page.headers
    with pytest.raises(SettingsError, match="WEBPAGE_FRAME_ANCESTORS"):
        load_settings(webpage_frame_ancestors="www.example.gov.cn")
    with pytest.raises(SettingsError, match="WEBPAGE_FRAME_ANCESTORS"):
        load_settings(webpage_frame_ancestors="https://a.example; script-src *")
