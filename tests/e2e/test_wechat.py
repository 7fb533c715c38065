"""The WeChat channel as `serve` mounts it, driven the way WeChat's servers drive it, with the WeChat API
(access token, customer-service messages) served by a stub on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time

import pytest
import xmltodict
from starlette.testclient import TestClient

from bot.app import build_app
from bot.channels.wechat.rendering import MAX_BYTES
from bot.config import load_settings
from bot.ratelimit import InProcessRateLimiter
from bot.server import create_web_app
from tests.auxil.kb import BUNDLED, INTENTS, entry, make_kb
from tests.e2e.wechat_stub import (
    ACCOUNT,
    AES_KEY,
    APP_ID,
    APP_SECRET,
    TOKEN,
    WeChatApiStub,
    decrypt_reply,
    encrypted,
    event_xml,
    message_xml,
    signed_query,
    text_xml,
    url,
)

ADMIN = "oAdministrator01"
OPENID = "oResident0001"


@pytest.fixture
def stub():
    s = WeChatApiStub().start()
    yield s
    s.stop()


def make_app(tmp_path, stub=None, kb_dir=None, **extra):
    settings = load_settings(
        database_url=f"sqlite:///{tmp_path}/bot.sqlite3", user_id_salt="e2e-salt", redis_url="",
        knowledge_dir=kb_dir or BUNDLED, intents_dir=(kb_dir.parent / "intents") if kb_dir else INTENTS,
        wechat_token=TOKEN, wechat_admin_openids=(ADMIN,),
        **({"wechat_app_id": APP_ID, "wechat_app_secret": APP_SECRET, "wechat_api_base_url": stub.base_url}
           if stub else {}), **extra)
    return build_app(settings)


def serve(app):
    return TestClient(create_web_app(app, telegram=False, limiter=InProcessRateLimiter(100)),
                      raise_server_exceptions=False)


def post(client, xml: str, query: dict | None = None):
    return client.post(url(query or signed_query()), content=xml.encode("utf-8"),
                       headers={"content-type": "text/xml"})


def reply_of(response) -> dict:
    assert response.status_code == 200, response.status_code
    assert response.text != "success", "expected a passive reply"
    return xmltodict.parse(response.text)["xml"]


def epoch() -> dt.datetime:
    return dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def slow_down(app, seconds: float):
    """The Dialogue takes `seconds` longer per message (a loaded server), counting the calls."""
    handle, calls = app.dialogue.handle, []

    def slow(*args, **kwargs):
        calls.append(args)
        time.sleep(seconds)
        return handle(*args, **kwargs)

    app.dialogue.handle = slow
    return calls


# -- the platform's checks ---------------------------------------------------------------------------


def test_url_verification_needs_the_signature(tmp_path):
    app = make_app(tmp_path)
    with serve(app) as client:
        ok = client.get(url(signed_query(echostr="7091246378192")))
        assert (ok.status_code, ok.text) == (200, "7091246378192")
        assert client.get(url(signed_query("anotherToken", echostr="1"))).status_code == 403
        assert client.get(url({**signed_query(), "echostr": "1", "signature": "0" * 40})).status_code == 403
        old = signed_query(timestamp=int(time.time()) - 3600, echostr="1")  # a captured URL, replayed an hour on
        assert client.get(url(old)).status_code == 403
        assert client.get("/wechat?echostr=1").status_code == 403


def test_bad_signatures_malformed_xml_and_big_bodies_record_nothing(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="bot.channels.wechat")
    app = make_app(tmp_path)
    good = text_xml("潞河附校晚托到几点", 1001)
    with serve(app) as client:
        assert post(client, good, signed_query("anotherToken")).status_code == 403
        assert post(client, good, {**signed_query(), "signature": "f" * 40}).status_code == 403
        assert client.post("/wechat", content=good.encode()).status_code == 403
        bodies = [
            "<xml><ToUserName>gh",  # cut short
            "not xml at all",
            "<notxml><a>1</a></notxml>",
            "<xml>just text</xml>",
            text_xml("x", 1002).replace("<MsgId>1002</MsgId>", "<MsgId>not-a-number</MsgId>"),
            text_xml("x", 1003, openid="o<script>"),
            text_xml("x", 1004, openid=""),
            '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
            "<xml><Content>&b;</Content></xml>",
        ]
        codes = [post(client, body).status_code for body in bodies]
        assert codes == [400] * len(bodies)
        assert client.post(url(signed_query()), content=b"\xff\xfe<xml>").status_code == 400  # not UTF-8
        huge = text_xml("厂通路" * 30_000, 1005)
        assert post(client, huge).status_code == 413
        assert reply_of(post(client, good))["Content"].startswith("最晚到19:20")  # still serving
    assert app.repository.count_interactions() == 1  # the good one only
    refused = [r.getMessage() for r in caplog.records if "wechat call refused" in r.getMessage()]
    assert len(refused) == 3 + len(bodies) + 2
    assert not any(TOKEN in line or OPENID in line for line in refused)


# -- residents' messages -----------------------------------------------------------------------------


def test_text_answer_with_source_feedback_and_hashed_identity(tmp_path):
    app = make_app(tmp_path)
    with serve(app) as client:
        reply = reply_of(post(client, text_xml("潞河附校晚托到几点", 2001)))
        assert (reply["ToUserName"], reply["FromUserName"], reply["MsgType"]) == (OPENID, ACCOUNT, "text")
        content = reply["Content"]
        assert content.startswith("最晚到19:20。")
        assert "来源：大国新村《事关教育和交通等领域" in content  # the source line, plain text
        assert "<" not in content and "回复 + 表示有帮助" in content
        thanks = reply_of(post(client, text_xml("+", 2002)))
        assert "谢谢" in thanks["Content"]
    [row] = list(app.repository.interactions(epoch()))
    assert row.channel == "wechat" and row.entry_id == "luhe-late-care-end-time"
    assert row.user_hash and OPENID not in row.user_hash and OPENID not in row.conversation_id
    [feedback] = app.repository.feedback(epoch())
    assert feedback.helpful is True and feedback.interaction_id == row.id


def test_choices_are_numbered_and_picked_by_number_in_the_residents_script(tmp_path):
    app = make_app(tmp_path)
    with serve(app) as client:
        clarify = reply_of(post(client, text_xml("一鍵呼", 3001)))["Content"]
        assert "您想問的是哪一個" in clarify and "\n1. " in clarify and "都不是" in clarify
        chosen = reply_of(post(client, text_xml("1", 3002)))["Content"]
        assert "來源：" in chosen  # the answer to choice 1, still traditional
        topics = reply_of(post(client, text_xml("/topics", 3003)))["Content"]
        number = next(line.split(".")[0] for line in topics.splitlines() if "课后服务" in line or "課後服務" in line)
        listing = reply_of(post(client, text_xml(number, 3004)))["Content"]
        assert "潞河" in listing and "\n1. " in listing
    statuses = [r.status for r in app.repository.interactions(epoch())]
    assert statuses == ["clarify", "answer", "smalltalk", "smalltalk"]


def test_welcome_on_follow_and_a_polite_ask_to_type_for_other_messages(tmp_path):
    app = make_app(tmp_path)
    with serve(app) as client:
        welcome = reply_of(post(client, event_xml("subscribe")))["Content"]
        assert "您好" in welcome and "· " in welcome
        for xml in (message_xml("image", 4001, PicUrl="http://example.invalid/p.jpg", MediaId="m1"),
                    message_xml("location", 4002, Location_X="39.9", Location_Y="116.6", Label="通州"),
                    message_xml("voice", 4003, MediaId="m2", Format="amr"),
                    message_xml("video", 4004, MediaId="m3", ThumbMediaId="t3")):
            assert reply_of(post(client, xml))["Content"].startswith("我目前只能看懂文字消息")
        spoken = reply_of(post(client, message_xml("voice", 4005, MediaId="m4", Format="amr",
                                                   Recognition="潞河附校晚托到几点")))
        assert spoken["Content"].startswith("最晚到19:20")  # speech recognition is read as typed text
        assert post(client, event_xml("unsubscribe")).text == "success"
        assert post(client, event_xml("VIEW", key="https://example.invalid/")).text == "success"
        topics = reply_of(post(client, event_xml("CLICK", key="topics")))["Content"]
        assert "请选择一个话题" in topics
        assert "没有这个命令" in reply_of(post(client, text_xml("/nosuchcommand", 4006)))["Content"]
    rows = list(app.repository.interactions(epoch()))
    assert [r.intent_id or r.entry_id for r in rows] == ["welcome", "luhe-late-care-end-time", "topics",
                                                         "unknown_command"]  # recorded like any reply


def test_administrators_commands_only_for_their_openids(tmp_path):
    app = make_app(tmp_path)
    with serve(app) as client:
        refused = reply_of(post(client, text_xml("/stats", 5001)))["Content"]
        assert "没有这个命令" in refused
        stats = reply_of(post(client, text_xml("/stats", 5002, openid=ADMIN)))["Content"]
        assert "过去24小时" in stats
        unanswered = reply_of(post(client, text_xml("/unanswered", 5003, openid=ADMIN)))["Content"]
        assert "没答上的问题" in unanswered


# -- once, on time --------------------------------------------------------------------------------------


def test_a_message_delivered_three_times_is_answered_and_recorded_once(tmp_path, stub):
    app = make_app(tmp_path, stub)
    with serve(app) as client:
        replies = [post(client, text_xml("厂通路什么时候通车", 6001)) for _ in range(3)]
    contents = [reply_of(r)["Content"] for r in replies]
    assert contents[0].startswith("预计2024年竣工通车") and contents == [contents[0]] * 3  # the same passive reply
    assert app.repository.count_interactions() == 1 and stub.send_calls == 0


def test_redeliveries_while_the_answer_is_computed_share_it(tmp_path, stub):
    """WeChat redelivers when our answer has not reached it: each delivery waits for the one answer."""
    app = make_app(tmp_path, stub, wechat_reply_seconds=3.0)
    calls = slow_down(app, 1.0)
    results: list = []
    with serve(app) as client:
        def deliver():
            results.append(post(client, text_xml("厂通路什么时候通车", 6101)))

        threads = [threading.Thread(target=deliver) for _ in range(3)]
        for t in threads:
            t.start()
            time.sleep(0.1)
        for t in threads:
            t.join()
    assert len(calls) == 1 and app.repository.count_interactions() == 1
    assert [reply_of(r)["Content"][:10] for r in results] == ["预计2024年竣工通车"[:10]] * 3
    assert stub.send_calls == 0


def test_a_slow_answer_goes_through_customer_service_once(tmp_path, stub):
    app = make_app(tmp_path, stub, wechat_reply_seconds=0.3)
    slow_down(app, 0.8)
    with serve(app) as client:
        started = time.monotonic()
        first = post(client, text_xml("厂通路什么时候通车", 7001))
        assert first.text == "success" and time.monotonic() - started < 1.0  # within WeChat's window
        [sent] = stub.wait_sent(1)
        assert sent["touser"] == OPENID and sent["msgtype"] == "text"
        assert sent["text"]["content"].startswith("预计2024年竣工通车") and "来源：" in sent["text"]["content"]
        assert post(client, text_xml("厂通路什么时候通车", 7001)).text == "success"  # a late redelivery
        time.sleep(0.3)
    assert stub.token_calls == 1 and len(stub.sent) == 1
    assert app.repository.count_interactions() == 1


def test_without_customer_service_a_redelivery_carries_the_late_answer(tmp_path):
    """No AppSecret: the first delivery keeps waiting past the budget and WeChat's redelivery (which WeChat
    sends after 5 s) gets the answer as its passive reply."""
    app = make_app(tmp_path, wechat_reply_seconds=0.2)
    slow_down(app, 0.8)
    with serve(app) as client:
        results: list = []
        first = threading.Thread(target=lambda: results.append(post(client, text_xml("厂通路什么时候通车", 7101))))
        first.start()
        time.sleep(0.4)  # past the budget: the first delivery is still waiting
        again = post(client, text_xml("厂通路什么时候通车", 7101))
        first.join()
    assert reply_of(again)["Content"].startswith("预计2024年竣工通车")
    assert app.repository.count_interactions() == 1


def test_access_token_is_cached_renewed_before_expiry_and_refreshed_once_when_refused(tmp_path, stub):
    app = make_app(tmp_path, stub, wechat_reply_seconds=0.2)
    slow_down(app, 0.3)
    with serve(app) as client:
        api = client.app.state.channels["wechat"].api
        now = [time.time()]
        api.clock = lambda: now[0]

        def ask(msg_id: int, count: int) -> None:
            assert post(client, text_xml("厂通路什么时候通车", msg_id)).text == "success"
            stub.wait_sent(count)

        ask(8001, 1)
        ask(8002, 2)
        assert stub.token_calls == 1  # cached
        now[0] += 7200 - 200  # within REFRESH_BEFORE of expiry: renewed before WeChat refuses it
        ask(8003, 3)
        assert stub.token_calls == 2 and stub.send_calls == 3
        stub.revoke_tokens()  # another system fetched a token for the account: ours is refused with 40001
        ask(8004, 4)
        assert stub.token_calls == 3 and stub.send_calls == 5  # refused once, token fetched, sent again
        stub.refuse_next = [42001]
        ask(8005, 5)
        assert stub.token_calls == 4
        stub.refuse_next = [40001, 40001, 40001]  # refused again after the refresh: give up, no loop
        assert post(client, text_xml("厂通路什么时候通车", 8006)).text == "success"
        deadline = time.monotonic() + 10
        while stub.send_calls < 9 and time.monotonic() < deadline:  # refused, token fetched, refused: given up
            time.sleep(0.05)
        time.sleep(0.2)  # nothing more comes
        assert stub.send_calls == 9 and stub.token_calls == 5 and len(stub.sent) == 5 and stub.refuse_next == [40001]


def test_a_long_reply_is_split_with_a_pointer_and_the_rest_sent_after(tmp_path, stub):
    long_answer = "。".join(f"第{i}条说明：居民办理此项业务需要携带身份证和户口簿原件" for i in range(40)) + "。"
    kdir = make_kb(tmp_path / "kb", {"long.yaml": entry("long-answer", "很长的问题怎么办理", long_answer)})
    app = make_app(tmp_path, stub, kdir)
    with serve(app) as client:
        first = reply_of(post(client, text_xml("很长的问题怎么办理", 9001)))["Content"]
        rest = stub.wait_sent(1)
    assert len(first.encode()) <= MAX_BYTES and first.endswith("（未完，接下一条）")
    texts = [first, *[m["text"]["content"] for m in rest]]
    assert len(texts) == 2
    assert all(len(t.encode()) <= MAX_BYTES for t in texts)
    assert "来源：测试发布者《测试来源》" in texts[-1]
    assert "".join(texts).count("居民办理此项业务") == 40  # split, nothing lost between messages
    assert app.repository.count_interactions() == 1


def test_a_long_reply_without_customer_service_is_trimmed_keeping_the_source(tmp_path):
    long_answer = "。".join(f"第{i}条说明：居民办理此项业务需要携带身份证和户口簿原件" for i in range(40)) + "。"
    kdir = make_kb(tmp_path / "kb", {"long.yaml": entry("long-answer", "很长的问题怎么办理", long_answer)})
    app = make_app(tmp_path, kb_dir=kdir)
    with serve(app) as client:
        content = reply_of(post(client, text_xml("很长的问题怎么办理", 9101)))["Content"]
    assert len(content.encode()) <= MAX_BYTES
    assert "内容较长，没有全部显示" in content and content.endswith("测试发布者《测试来源》，2021年12月28日")


# -- safe mode ----------------------------------------------------------------------------------------


def test_safe_mode_round_trip(tmp_path, stub):
    app = make_app(tmp_path, stub, wechat_aes_key=AES_KEY)
    with serve(app) as client:
        body, query = encrypted(text_xml("潞河附校晚托到几点", 10001))
        response = post(client, body, query)
        assert response.status_code == 200 and "<Encrypt>" in response.text and "19:20" not in response.text
        inner = xmltodict.parse(decrypt_reply(response.text, query))["xml"]
        assert inner["ToUserName"] == OPENID and inner["Content"].startswith("最晚到19:20")
        tampered = {**query, "msg_signature": "0" * 40}
        assert post(client, body, tampered).status_code == 403
        assert post(client, text_xml("潞河附校晚托到几点", 10002)).status_code == 403  # plaintext: unsigned body
        other_app, other_query = encrypted(text_xml("潞河附校晚托到几点", 10003), app_id="wxsomeoneelse00000")
        assert post(client, other_app, other_query).status_code == 403
        wrong_key, wrong_query = encrypted(text_xml("潞河附校晚托到几点", 10004), aes_key="Z" * 43)
        assert post(client, wrong_key, wrong_query).status_code == 400
    assert app.repository.count_interactions() == 1
