"""The chat page's two promises over plain HTTP: a retried message (same `message_id`) is answered and
recorded once; after 没帮助 the resident's one-line comment is stored with the rating and administrators see
it in `resident-bot report`, beside what was asked."""

from __future__ import annotations

import logging

from bot.channels.webpage.view import MAX_COMMENT
from bot.cli import main
from tests.channels.webpage.test_http import ask, browser, make_app, stored

ID = "0123456789abcdef0123456789abcdef"


def test_a_retried_message_is_answered_and_recorded_once(tmp_path):
    app = make_app(tmp_path)
    with browser(app) as client:
        assert 'data-timeout-ms="20000"' in client.get("/").text  # WEBPAGE_REPLY_TIMEOUT, for the script
        body = {"text": "潞河附校晚托到几点", "message_id": ID}
        first = ask(client, body)
        again = ask(client, body)
        assert first.status_code == again.status_code == 200 and again.json() == first.json()
        # A new message (a new id), or a page that sends none, is answered again: asked twice on purpose.
        assert ask(client, {**body, "message_id": ID[::-1]}).json()["feedback"] != first.json()["feedback"]
        assert ask(client, {"text": "潞河附校晚托到几点"}).status_code == 200
        # Another session with the same id is another conversation: its own answer.
        with browser(app) as other:
            other.get("/")
            assert ask(other, body).json()["feedback"] != first.json()["feedback"]
        for bad in ("short", "x" * 65, "not/an/id", 12345678, ["x"]):
            r = ask(client, {**body, "message_id": bad})
            assert (r.status_code, r.json()["code"]) == (400, "bad_request"), bad
        count, _ = stored(app)
    assert count == 4


def test_the_timeout_is_a_setting(tmp_path):
    with browser(make_app(tmp_path, webpage_reply_timeout=0.5)) as client:
        assert 'data-timeout-ms="500"' in client.get("/").text


def test_a_comment_after_not_helpful_is_stored_and_reported(tmp_path, monkeypatch, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    app = make_app(tmp_path)
    with browser(app) as client:
        client.get("/")
        answer = ask(client, {"text": "潞河附校晚托到几点", "message_id": ID}).json()
        box = answer["feedback"]["comment"]
        assert box == {"label": "哪里没帮上？可以简单说一下（可不填）", "placeholder": "例如：没说周末开不开",
                       "send": "提交", "max": MAX_COMMENT}
        down = answer["feedback"]["buttons"][1]["do"]
        sorry = ask(client, {**down, "message_id": "a" * 32}).json()
        assert sorry["paragraphs"][0]["text"].startswith("抱歉没能帮上忙")
        too_long = ask(client, {**down, "comment": "长" * (MAX_COMMENT + 1)})
        assert (too_long.status_code, too_long.json()["code"]) == (400, "comment_too_long")
        assert f"意见太长了（{MAX_COMMENT + 1}个字）" in too_long.json()["error"]
        # Only a rating carries a comment, and only as text.
        odd = [{**down, "comment": 5}, {"action": "ask", "arg": "luhe-late-care-end-time", "comment": "x"},
               {"action": "topics", "arg": "", "comment": "x"}]
        assert [ask(client, body).status_code for body in odd] == [400, 400, 400]
        thanks = ask(client, {**down, "comment": "没说周末\n开不开  ", "message_id": "b" * 32})
        assert thanks.status_code == 200
        assert thanks.json()["paragraphs"][0]["text"] == "收到您的意见，谢谢！我们会据此改进回答。"
        _, feedback = stored(app)
    [rating] = feedback
    assert (rating.helpful, rating.comment, rating.entry_id) == (False, "没说周末 开不开", "luhe-late-care-end-time")
    assert "没说周末" not in caplog.text  # resident's text: stored, never logged
    # Administrators see it in the report, with what was asked.
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/page.sqlite3")
    monkeypatch.setenv("SEMANTIC_MODEL", "off")
    assert main(["report", "--since", "1d"]) == 0
    out = capsys.readouterr().out
    assert "luhe-late-care-end-time: 1 not helpful, 0 helpful" in out
    assert "- luhe-late-care-end-time: 没说周末 开不开  (asked: 潞河附校晚托到几点)" in out
    assert main(["report", "--since", "1d", "--html", str(tmp_path / "r.html")]) == 0
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<td>潞河附校晚托到几点</td><td>没说周末 开不开</td>" in page


def test_the_comment_box_follows_the_residents_script(tmp_path):
    app = make_app(tmp_path)
    with browser(app) as client:
        client.get("/")
        answer = ask(client, {"text": "潞河附校晚託到幾點"}).json()
        box = answer["feedback"]["comment"]
        assert (box["label"], box["send"]) == ("哪裏沒幫上？可以簡單說一下（可不填）", "提交")
        down = answer["feedback"]["buttons"][1]["do"]
        ask(client, down)
        thanks = ask(client, {**down, "comment": "沒說週末"}).json()
        assert thanks["lang"] == "zh-Hant"
        assert thanks["paragraphs"][0]["text"] == "收到您的意見，謝謝！我們會據此改進回答。"
