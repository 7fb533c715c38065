"""The real python-telegram-bot Application against the Bot API stub, by polling and by webhook."""

from __future__ import annotations

import asyncio
import logging
import re
import shutil
import time

import pytest
from starlette.testclient import TestClient

from bot.app import build_app, build_kit
from bot.channels.telegram import build_application
from bot.config import load_settings
from bot.ratelimit import InProcessRateLimiter
from bot.server import create_web_app
from tests.auxil.kb import BUNDLED, INTENTS
from tests.e2e.botapi_stub import BOT, BotApiStub, callback_update, message_update

ADMIN = 777
TOKEN = "123456:TEST-TOKEN"


@pytest.fixture
def stub():
    s = BotApiStub(TOKEN).start()
    yield s
    s.stop()


@pytest.fixture
def kb_copy(tmp_path):
    shutil.copytree(BUNDLED, tmp_path / "knowledge")
    shutil.copytree(INTENTS, tmp_path / "intents")
    return tmp_path / "knowledge"


def make_app(stub, tmp_path, kb_dir=None, **extra):
    settings = load_settings(
        telegram_bot_token=TOKEN, telegram_api_base_url=stub.base_url, admin_ids=(ADMIN,),
        database_url=f"sqlite:///{tmp_path}/bot.sqlite3", user_id_salt="e2e-salt",
        knowledge_dir=kb_dir or BUNDLED, intents_dir=(kb_dir.parent / "intents") if kb_dir else INTENTS, **extra)
    return build_app(settings)


class Polling:
    """The Application polling the stub inside the test's event loop."""

    def __init__(self, app, limiter=None):
        self.app = app
        self.application = build_application(app.settings, build_kit(app, limiter=limiter))

    async def __aenter__(self):
        await self.application.initialize()
        await self.application.post_init(self.application)  # as run_polling does
        await self.application.start()
        await self.application.updater.start_polling(poll_interval=0.0, timeout=1)
        return self

    async def __aexit__(self, *exc):
        await self.application.updater.stop()
        await self.application.stop()
        await self.application.shutdown()
        self.app.close()


async def wait(stub, method, count=1):
    return await asyncio.to_thread(stub.wait_for, method, count)


def buttons(params):
    markup = params.get("reply_markup") or {}
    return [b for row in markup.get("inline_keyboard", []) for b in row]


async def test_answer_with_source_buttons_and_feedback(stub, tmp_path):
    app = make_app(stub, tmp_path)
    async with Polling(app):
        stub.push(message_update("潞河附校晚托到几点"))
        [sent] = await wait(stub, "sendMessage")
        assert sent["parse_mode"] == "HTML"
        assert sent["text"].startswith("最晚到19:20。")
        assert "<i>来源：大国新村《事关教育和交通等领域" in sent["text"]
        data = [b["callback_data"] for b in buttons(sent)]
        assert "q:luhe-late-care-who" in data
        feedback = [d for d in data if d.startswith(("f+:", "f-:"))]
        assert len(feedback) == 2 and all(len(d.encode()) <= 64 for d in data)
        # Pressing 👍 records feedback and edits the rating buttons away.
        stub.push(callback_update(feedback[0], message={**_sent_message(sent), "reply_markup": sent["reply_markup"]}))
        [answered] = await wait(stub, "answerCallbackQuery")
        assert "谢谢" in answered.get("text", "")
        [edit] = await wait(stub, "editMessageReplyMarkup")
        left = [b["callback_data"] for b in buttons(edit)]
        assert left and not any(d.startswith("f") for d in left)
    [fb] = app.repository.feedback(_epoch())
    assert fb.helpful is True and fb.interaction_id == feedback[0][3:]


async def test_html_is_escaped(stub, tmp_path, kb_copy):
    path = kb_copy / "transport.yaml"
    text = path.read_text(encoding="utf-8").replace(
        "answer: 预计2024年竣工通车。", "answer: 预计2024年竣工通车 <b>&*更多</b>。", 1)
    path.write_text(text, encoding="utf-8")
    app = make_app(stub, tmp_path, kb_copy)
    async with Polling(app):
        stub.push(message_update("厂通路什么时候通车"))
        [sent] = await wait(stub, "sendMessage")
    assert "预计2024年竣工通车 &lt;b&gt;&amp;*更多&lt;/b&gt;。" in sent["text"]


async def test_traditional_question_and_clarification_by_button(stub, tmp_path):
    app = make_app(stub, tmp_path)
    async with Polling(app):
        stub.push(message_update("一鍵呼"))
        [sent] = await wait(stub, "sendMessage")
        assert "您想問的是哪一個" in sent["text"]
        data = [b["callback_data"] for b in buttons(sent)]
        assert data[-1] == "n:" and all(d.startswith("c:one-key-call") for d in data[:-1])
        assert buttons(sent)[-1]["text"].endswith("都不是")
        stub.push(callback_update(data[0]))
        sent = await wait(stub, "sendMessage", 2)
        assert "來源：" in sent[1]["text"]  # the chosen answer, still in traditional script
        chosen = data[0][2:]
    rows = list(app.repository.interactions(_epoch()))
    assert [r.status for r in rows] == ["clarify", "answer"]
    assert rows[1].entry_id == chosen and rows[1].asked == "一鍵呼"


async def test_none_of_these_button_is_unanswered(stub, tmp_path):
    app = make_app(stub, tmp_path)
    async with Polling(app):
        stub.push(message_update("一键呼"))
        await wait(stub, "sendMessage")
        stub.push(callback_update("n:"))
        sent = await wait(stub, "sendMessage", 2)
        assert "12345" in sent[1]["text"]
    rows = list(app.repository.interactions(_epoch()))
    assert (rows[-1].status, rows[-1].reason, rows[-1].asked) == ("fallback", "none-of-these", "一键呼")


async def test_forged_and_malformed_buttons_do_nothing_harmful(stub, tmp_path):
    app = make_app(stub, tmp_path)
    async with Polling(app):
        for data in ("garbage", "q:not-an-entry", "q:../../etc", "f+:xyz", "admin:reload", "x" * 80):
            stub.push(callback_update(data))
        answered = await wait(stub, "answerCallbackQuery", 6)
        stale = await wait(stub, "sendMessage", 1)
    assert len(answered) == 6  # every press is answered
    assert all("失效" in s["text"] for s in stale)
    assert app.repository.count_interactions() == 0 and app.repository.feedback(_epoch()) == []


async def test_start_topics_and_commands(stub, tmp_path):
    app = make_app(stub, tmp_path)
    async with Polling(app):
        [commands] = await wait(stub, "setMyCommands")
        assert {c["command"] for c in commands["commands"]} == {"start", "help", "topics", "topic"}
        stub.push(message_update("/start"))
        [start] = await wait(stub, "sendMessage")
        assert "您好" in start["text"] and all(b["callback_data"].startswith("q:") for b in buttons(start))
        stub.push(message_update("/topics"))
        topics = (await wait(stub, "sendMessage", 2))[1]
        topic_data = [b["callback_data"] for b in buttons(topics)]
        assert "t:课后服务" in topic_data
        stub.push(callback_update("t:课后服务"))
        listing = (await wait(stub, "sendMessage", 3))[2]
        assert "q:luhe-late-care-end-time" in [b["callback_data"] for b in buttons(listing)]
        stub.push(message_update("/help"))
        assert "西集民宿" in (await wait(stub, "sendMessage", 4))[3]["text"]


async def test_a_traditional_resident_gets_every_fixed_text_in_traditional(stub, tmp_path):
    app = make_app(stub, tmp_path)
    async with Polling(app):
        stub.push(message_update("潞河附校晚托到幾點"))
        [answer] = await wait(stub, "sendMessage")
        labels = [b["text"] for b in buttons(answer) if b["callback_data"].startswith("f")]
        assert labels == ["👍 有幫助", "👎 沒幫助"]
        stub.push(message_update("/topic 課後"))  # a topic by (part of) its name, as typed
        listing = (await wait(stub, "sendMessage", 2))[1]
        assert listing["text"].startswith("“課後服務”裏的問題：")
        assert "q:luhe-late-care-end-time" in [b["callback_data"] for b in buttons(listing)]
        stub.push(message_update("/foo"))
        unknown = (await wait(stub, "sendMessage", 3))[2]["text"]
        assert unknown == "沒有這個命令。發送 /help 查看用法，或直接輸入您的問題。"
        stub.push(callback_update("q:not-an-entry"))  # a stale button
        assert (await wait(stub, "sendMessage", 4))[3]["text"] == "這個按鈕已失效，請直接輸入您的問題。"
    rows = list(app.repository.interactions(_epoch()))
    assert [(r.text, r.intent_id) for r in rows][1:] == [("/topic 课后服务", "topic"), ("/foo", "unknown_command")]


async def test_admin_commands_only_for_admins(stub, tmp_path, kb_copy):
    app = make_app(stub, tmp_path, kb_copy)
    async with Polling(app):
        stub.push(message_update("/reload", user_id=1))
        [refused] = await wait(stub, "sendMessage")
        stub.push(message_update("/nosuchcommand", user_id=1))
        unknown = (await wait(stub, "sendMessage", 2))[1]
        assert refused["text"] == unknown["text"]  # a non-admin learns nothing
        old = app.live.snapshot.version
        path = kb_copy / "transport.yaml"
        path.write_text(path.read_text(encoding="utf-8").replace("预计2024年竣工通车。", "预计2025年竣工通车。", 1),
                        encoding="utf-8")
        stub.push(message_update("/reload", user_id=ADMIN))
        reloaded = (await wait(stub, "sendMessage", 3))[2]
        assert "已重新加载知识库" in reloaded["text"] and app.live.snapshot.version != old
        stub.push(message_update("厂通路哪年通车"))
        assert (await wait(stub, "sendMessage", 4))[3]["text"].startswith("预计2025年竣工通车")
        path.write_text("- id: [broken\n", encoding="utf-8")
        stub.push(message_update("/reload", user_id=ADMIN))
        failed = (await wait(stub, "sendMessage", 5))[4]
        assert "重新加载失败" in failed["text"] and re.search(r"transport\.yaml:\d+:\d+: error", failed["text"])
        stub.push(message_update("/stats", user_id=ADMIN))
        assert "过去24小时" in (await wait(stub, "sendMessage", 6))[5]["text"]
        stub.push(message_update("/unanswered", user_id=ADMIN))
        assert "没答上的问题" in (await wait(stub, "sendMessage", 7))[6]["text"]


async def test_group_chat_answers_only_when_addressed(stub, tmp_path):
    app = make_app(stub, tmp_path)
    async with Polling(app):
        stub.push(message_update("厂通路哪年通车", chat_id=-100, chat_type="supergroup"))
        stub.push(message_update(f"@{BOT['username']} 厂通路哪年通车", chat_id=-100, chat_type="supergroup"))
        bot_msg = {"message_id": 5, "date": 0, "text": "x", "from": BOT, "chat": {"id": -100, "type": "supergroup"}}
        stub.push(message_update("那什么时候开工的", chat_id=-100, chat_type="supergroup", reply_to=bot_msg))
        sent = await wait(stub, "sendMessage", 2)
        await asyncio.sleep(0.5)
    assert len(stub.sent()) == 2
    assert sent[0]["text"].startswith("预计2024年") and sent[1]["text"].startswith("2021年12月22日开工")


async def test_rate_limit_is_polite(stub, tmp_path):
    app = make_app(stub, tmp_path)
    async with Polling(app, limiter=InProcessRateLimiter(2)):
        for _ in range(3):
            stub.push(message_update("你好"))
        sent = await wait(stub, "sendMessage", 3)
    assert sum("稍等" in s["text"] for s in sent) == 1  # updates run concurrently: any one of the three


async def test_429_from_telegram_is_retried(stub, tmp_path):
    app = make_app(stub, tmp_path)
    stub.fail_next("sendMessage", 429, retry_after=1)
    async with Polling(app):
        stub.push(message_update("厂通路哪年通车"))
        sent = await wait(stub, "sendMessage", 2)
    assert sent[0]["text"] == sent[1]["text"]  # the same answer, delivered on the retry


async def test_token_never_reaches_the_logs(stub, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    app = make_app(stub, tmp_path)
    async with Polling(app):
        stub.push(message_update("你好", user_id=5550001))
        await wait(stub, "sendMessage")
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert TOKEN not in logged and "TEST-TOKEN" not in logged
    assert "5550001" not in logged


def test_webhook_mode(stub, tmp_path):
    app = make_app(stub, tmp_path, webhook_url="https://bot.example/telegram/webhook", webhook_secret="s3cret")
    web = create_web_app(app, limiter=InProcessRateLimiter(100))
    with TestClient(web) as client:
        [hook] = stub.wait_for("setWebhook")
        assert hook["url"] == "https://bot.example/telegram/webhook" and hook["secret_token"] == "s3cret"
        update = {"update_id": 1, **message_update("三大建築什麼時候開放")}
        assert client.post("/telegram/webhook", json=update).status_code == 403
        assert client.post("/telegram/webhook", json=update,
                           headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}).status_code == 403
        big = {"update_id": 2, **message_update("长" * 2_000_000)}
        assert client.post("/telegram/webhook", json=big,
                           headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret"}).status_code == 413
        ok = client.post("/telegram/webhook", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret"})
        assert ok.status_code == 200
        [sent] = stub.wait_for("sendMessage")
        assert "計劃2023年底前" in sent["text"]
        health = client.get("/healthz").json()
        assert health["knowledge_version"] == app.live.snapshot.version and health["database"] is True
        assert web.state.channels["telegram"].forbidden == 2


def test_serve_starts_while_the_bot_api_is_out_of_reach_and_mounts_telegram_once_it_answers(
        stub, tmp_path, caplog, monkeypatch):
    from bot.channels.telegram import webhook

    monkeypatch.setattr(webhook, "RETRY_SECONDS", 0.2)
    caplog.set_level(logging.INFO)
    stub.fail_next("getMe", 0, times=3)  # the connection drops: the Bot API is out of reach
    app = make_app(stub, tmp_path, webhook_url="https://bot.example/telegram/webhook", webhook_secret="s3cret")
    secret = {"X-Telegram-Bot-Api-Secret-Token": "s3cret"}
    update = {"update_id": 1, **message_update("厂通路哪年通车")}
    with TestClient(create_web_app(app, limiter=InProcessRateLimiter(100))) as client:
        # The other channels serve at once; Telegram's webhook says it is not ready.
        api = client.post("/api/v1/messages", json={"user": "u1", "text": "厂通路哪年通车"})
        assert api.status_code == 200 and api.json()["faq_id"] == "changtong-road-opening"
        assert client.post("/telegram/webhook", json=update, headers=secret).status_code == 503
        stub.wait_for("setWebhook")  # tried again in the background until the Bot API answered
        deadline = time.monotonic() + 10
        while (code := client.post("/telegram/webhook", json=update, headers=secret).status_code) != 200:
            assert code == 503 and time.monotonic() < deadline
            time.sleep(0.05)
        assert stub.wait_for("sendMessage")[0]["text"].startswith("预计2024年")
    problems = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(problems) == 1 and problems[0].startswith(
        f"telegram not started yet: could not reach the Telegram Bot API at {stub.base_url}"), problems
    assert not any(r.exc_info for r in caplog.records) and TOKEN not in caplog.text
    assert any(r.getMessage() == "telegram started: the Bot API answers now" for r in caplog.records)


def test_webhook_refuses_malformed_updates_with_400_and_one_line(stub, tmp_path, caplog):
    app = make_app(stub, tmp_path, webhook_secret="s3cret")
    caplog.set_level(logging.INFO)
    secret = {"X-Telegram-Bot-Api-Secret-Token": "s3cret"}
    bodies = [b"not json", b"[1, 2]", b"{}", b'{"update_id": 5, "message": {"text": "no date, no chat"}}',
              b'{"update_id": "x", "message": 5}', b'{"update_id": 6, "callback_query": []}',
              b'{"update_id": 7, "message": ' * 3000 + b"1" + b"}" * 3000]
    with TestClient(create_web_app(app, limiter=InProcessRateLimiter(100)), raise_server_exceptions=False) as client:
        codes = [client.post("/telegram/webhook", content=body, headers=secret).status_code for body in bodies]
        update = {"update_id": 8, **message_update("厂通路哪年通车")}
        assert client.post("/telegram/webhook", json=update, headers=secret).status_code == 200  # still serving
        stub.wait_for("sendMessage")
    assert codes == [400] * len(bodies)
    refused = [r for r in caplog.records if "webhook call refused" in r.getMessage()]
    assert len(refused) == len(bodies) and not any(r.exc_info for r in caplog.records)
    assert app.repository.count_interactions() == 1


def test_http_api_with_bearer_token(stub, tmp_path):
    app = make_app(stub, tmp_path, api_token="tok")
    with TestClient(create_web_app(app, telegram=False)) as client:
        body = {"user": "wechat:abc", "text": "和滨海新区跨省通办多少项"}
        assert client.post("/api/v1/messages", json=body).status_code == 401
        auth = {"Authorization": "Bearer tok"}
        first = client.post("/api/v1/messages", json=body, headers=auth).json()
        assert first["faq_id"] == "cross-province-binhai" and first["source"].startswith("来源")
        second = client.post("/api/v1/messages", json={"user": "wechat:abc", "text": "那廊坊呢"}, headers=auth).json()
        assert second["faq_id"] == "regional-langfang"  # the same user's conversation continues
        assert client.post("/api/v1/messages", content=b"not json", headers=auth).status_code == 400
        assert client.post("/api/v1/messages", json={"text": 5}, headers=auth).status_code == 422


def _sent_message(params):
    return {"message_id": 1, "date": 0, "text": params["text"], "from": BOT,
            "chat": {"id": int(params["chat_id"]), "type": "private"}}


def _epoch():
    import datetime as dt

    return dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


async def test_telegram_errors_never_crash_the_bot(stub, tmp_path):
    """409 (another instance polling), 5xx and dropped connections on getUpdates; a 500 on one reply."""
    app = make_app(stub, tmp_path)
    async with Polling(app) as polling:
        # PTB backs off after each failed poll (1 s, 2 s, 4 s...): one of each keeps the test short.
        stub.fail_next("getUpdates", 409)
        stub.fail_next("getUpdates", 502)
        stub.fail_next("getUpdates", 0)  # a dropped connection
        stub.fail_next("sendMessage", 500, times=1)
        stub.push(message_update("厂通路哪年通车"))  # its reply hits the 500: logged, not resent
        stub.push(message_update("潞河附校晚托到几点"))
        sent = await asyncio.to_thread(stub.wait_for, "sendMessage", 2, 40)
        assert polling.application.running
    texts = [s["text"] for s in sent]
    assert any(t.startswith("最晚到19:20") for t in texts)
    assert len(texts) == len(set(texts)) == 2  # no answer sent twice for one update


async def test_restart_keeps_context_and_never_answers_an_update_twice(stub, tmp_path):
    """The process stops after answering; Telegram redelivers the update (offset not confirmed)."""
    app = make_app(stub, tmp_path)
    async with Polling(app):
        stub.push(message_update("和滨海新区跨省通办多少项"))
        await wait(stub, "sendMessage")
    # A new process on the same database; the stub still holds the old update and offers it again.
    app2 = make_app(stub, tmp_path)
    async with Polling(app2):
        stub.push(message_update("那廊坊呢？"))
        sent = await wait(stub, "sendMessage", 2)
        await asyncio.sleep(1.0)
    assert len(stub.sent()) == 2  # the redelivered first update was not answered again
    assert "453项" in sent[1]["text"]  # and the follow-up used the context stored before the restart


async def test_send_timeout_is_not_answered_twice(stub, tmp_path, caplog):
    """Telegram received the reply but answered too late: the bot logs the timeout and does not resend."""
    app = make_app(stub, tmp_path, telegram_timeout=1.0)
    async with Polling(app) as polling:
        stub.fail_next("sendMessage", -2)  # answered after 2 s: the bot's 1 s read timeout fires first
        stub.push(message_update("厂通路哪年通车"))
        await wait(stub, "sendMessage")
        stub.push(message_update("潞河附校晚托到几点"))
        sent = await wait(stub, "sendMessage", 2)
        await asyncio.sleep(2.5)
        assert polling.application.running
    assert len(stub.sent()) == 2 and sent[1]["text"].startswith("最晚到19:20")
    assert any("TimedOut" in r.getMessage() for r in caplog.records if r.name.startswith("bot.channels.telegram"))
