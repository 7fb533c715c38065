"""POST /api/v1/feedback: a gateway rates an answer its resident got (helpful or not, with a comment),
recorded like + / - and seen by `report` and `kb suggest`; nobody else can rate it."""

from __future__ import annotations

import datetime as dt

from starlette.testclient import TestClient

from bot.cli import main
from tests.channels.test_api import A, B, make_web

FEEDBACK = "/api/v1/feedback"


def ask(client, user="u1", text="公租房配租多少户", headers=A) -> dict:
    return client.post("/api/v1/messages", json={"user": user, "text": text}, headers=headers).json()


def stored_feedback(app):
    assert app.storage.flush(10) == 0  # the background writer stores within moments
    return app.repository.feedback(dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))


def test_a_resident_rates_an_answer_with_a_comment(tmp_path, monkeypatch, capsys):
    app, web = make_web(tmp_path)
    with TestClient(web) as client:
        answer = ask(client)
        later = ask(client, text="潞河附校晚托到几点")  # an earlier answer can still be rated
        r = client.post(FEEDBACK, headers=A, json={"user": "u1", "interaction_id": answer["interaction_id"],
                                                   "helpful": False, "comment": "  我想知道怎么申请  "})
        assert r.status_code == 200
        assert r.json() == {"recorded": True, "interaction_id": answer["interaction_id"], "helpful": False,
                            "text": "抱歉没能帮上忙，您的问题已记录，我们会补充知识库。"}
        assert client.post(FEEDBACK, headers=A, json={"user": "u1", "interaction_id": later["interaction_id"],
                                                      "helpful": True}).status_code == 200
        [down, up] = sorted(stored_feedback(app), key=lambda f: f.helpful)
    assert (down.interaction_id, down.helpful, down.comment) == (answer["interaction_id"], False, "我想知道怎么申请")
    assert (up.interaction_id, up.helpful, up.comment) == (later["interaction_id"], True, None)
    # Administrators see it where they see + and -.
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/api.sqlite3")
    monkeypatch.setenv("SEMANTIC_MODEL", "off")
    assert main(["report", "--since", "1d"]) == 0
    out = capsys.readouterr().out
    assert "public-rental-households: 1 not helpful, 0 helpful" in out and "我想知道怎么申请" in out
    assert main(["kb", "suggest", "--since", "1d"]) == 0
    assert "1× “公租房配租多少户” (1 rated not helpful)" in capsys.readouterr().out


def test_only_the_residents_own_conversation_can_rate_its_answers(tmp_path):
    app, web = make_web(tmp_path)
    with TestClient(web) as client:
        answer = ask(client)
        rating = {"user": "u1", "interaction_id": answer["interaction_id"], "helpful": False}
        # Another gateway naming the same user, another user of the same gateway, a made-up id: 404.
        assert client.post(FEEDBACK, headers=B, json=rating).status_code == 404
        assert client.post(FEEDBACK, headers=A, json={**rating, "user": "u2"}).status_code == 404
        forged = {**rating, "interaction_id": "0" * 32}
        r = client.post(FEEDBACK, headers=A, json=forged)
        assert r.status_code == 404 and r.json()["error"] == ("no answer with this interaction_id in this user's "
                                                              "conversation")
        assert client.post(FEEDBACK, json=rating).status_code == 401
        assert stored_feedback(app) == []


def test_bad_ratings_say_what_is_expected(tmp_path):
    app, web = make_web(tmp_path)
    with TestClient(web) as client:
        answer = ask(client)
        good = {"user": "u1", "interaction_id": answer["interaction_id"], "helpful": True}
        for body, status, says in [
            ({**good, "helpful": "yes"}, 422, "helpful true or false"),
            ({k: v for k, v in good.items() if k != "interaction_id"}, 422, "interaction_id from the reply"),
            ({**good, "comment": 5}, 422, "\"comment\" must be text"),
            ({**good, "comment": "长" * 1001}, 422, "\"comment\" is 1001 characters; at most 1000"),
            ({k: v for k, v in good.items() if k != "user"}, 400, "\"user\" is required"),
        ]:
            r = client.post(FEEDBACK, headers=A, json=body)
            assert (r.status_code, says in r.json()["error"]) == (status, True), (body, r.json())
        assert client.post(FEEDBACK, headers=A, content=b"not json").status_code == 400
        assert stored_feedback(app) == []
