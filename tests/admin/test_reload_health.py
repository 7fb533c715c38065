"""/healthz tells an operator that an edit was refused: when, how many errors, where; and which version
still serves."""

from __future__ import annotations

import datetime as dt
import shutil

from starlette.testclient import TestClient

from bot.app import build_app
from bot.config import load_settings
from bot.reloader import Reloader
from bot.server import create_web_app
from tests.auxil.kb import BUNDLED, INTENTS


def test_healthz_shows_the_last_failed_reload(tmp_path):
    shutil.copytree(BUNDLED, tmp_path / "knowledge")
    shutil.copytree(INTENTS, tmp_path / "intents")
    settings = load_settings(knowledge_dir=tmp_path / "knowledge", intents_dir=tmp_path / "intents",
                             database_url=f"sqlite:///{tmp_path}/h.sqlite3", semantic_model="off")
    app = build_app(settings)
    reloader = Reloader(app.live)
    transport = tmp_path / "knowledge" / "transport.yaml"
    good = transport.read_text(encoding="utf-8")
    with TestClient(create_web_app(app, telegram=False)) as client:
        assert client.get("/healthz").json()["last_failed_reload"] is None
        serving = app.live.snapshot.version
        transport.write_text(good.replace("  answer:", "  answr:", 1), encoding="utf-8")
        assert reloader.reload() is False
        health = client.get("/healthz").json()
        failed = health["last_failed_reload"]
        assert failed["errors"] == 1 and failed["still_serving"] == serving == health["knowledge_version"]
        assert failed["where"] == ["knowledge/transport.yaml:12:3"]  # no absolute paths on a public page
        assert dt.datetime.now(dt.UTC) - dt.datetime.fromisoformat(failed["at"]) < dt.timedelta(minutes=1)
        assert "answr" not in str(health)  # positions only: the page is public, messages go to the log
        # Fixed: the new version serves; the failure stays on record, with the version it kept serving.
        transport.write_text(good.replace("预计2024年", "预计2025年", 1), encoding="utf-8")
        assert reloader.reload() is True
        health = client.get("/healthz").json()
        assert health["knowledge_version"] != serving and health["last_failed_reload"] == failed
