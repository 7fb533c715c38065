"""Settings, metrics, health, and the deployment files (no container runtime here: parse them)."""

from __future__ import annotations

import json
import re
import shlex

import pytest
import yaml
from starlette.testclient import TestClient

from bot.app import build_app
from bot.cli import build_parser, main
from bot.config import SettingsError, describe_settings, load_settings
from bot.server import create_web_app
from tests.auxil.kb import ROOT


def test_settings_parse_and_validate(monkeypatch):
    monkeypatch.setenv("ADMIN_IDS", "12345, 67890")
    assert load_settings().admin_ids == (12345, 67890)
    for name, value, message in [
        ("ADMIN_IDS", "abc", "invalid setting ADMIN_IDS: Value error, must be Telegram user ids"),
        ("DATABASE_URL", "localhost/db", "invalid setting DATABASE_URL: Value error, must look like"),
        ("PORT", "99999", "invalid setting PORT"),
        ("LOG_FORMAT", "xml", "invalid setting LOG_FORMAT"),
        ("WEBHOOK_URL", "bot.example", "invalid setting WEBHOOK_URL"),
    ]:
        monkeypatch.setenv(name, value)
        with pytest.raises(SettingsError) as info:
            load_settings()
        assert str(info.value).startswith(message) and "\n" not in str(info.value)
        monkeypatch.delenv(name)


def test_config_command_masks_secrets(monkeypatch, capsys):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:S3CR3T-T0KEN")
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://bot:hunter2@db:5432/resident")
    assert main(["config", "--json"]) == 0
    out = capsys.readouterr().out
    shown = json.loads(out)
    assert shown["TELEGRAM_BOT_TOKEN"] == "(set, hidden)" and "S3CR3T" not in out and "hunter2" not in out
    assert shown["DATABASE_URL"] == "postgresql+psycopg://bot:***@db:5432/resident"
    names = {n for n, _, _ in describe_settings(load_settings())}
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    assert all(f"`{n}`" in readme for n in names), "README configuration table is missing a setting"
    assert all(re.search(rf"^#? ?{n}=", example, re.M) for n in names), ".env.example is missing a setting"


def test_metrics_and_healthz(tmp_path):
    settings = load_settings(database_url=f"sqlite:///{tmp_path}/m.sqlite3")
    app = build_app(settings)
    with TestClient(create_web_app(app, telegram=False)) as client:
        client.post("/api/v1/messages", json={"user": "u1", "text": "潞河附校晚托到几点"})
        assert app.storage.flush(10) == 0  # the background writer stores the records within moments
        health = client.get("/healthz").json()
        ready = client.get("/readyz")
        metrics = client.get("/metrics").text
    assert health == {"status": "ok", "knowledge_version": app.live.snapshot.version,
                      "git_commit": app.live.snapshot.kb.git_commit, "database": True, "sentence_model": True,
                      "last_failed_reload": None, "records_waiting": 0, "records_set_aside": 0}
    assert ready.status_code == 200 and ready.json()["ready"] is True
    assert re.search(r'resident_bot_messages_total\{channel="api",status="answer"\} [1-9]', metrics)
    assert "resident_bot_message_seconds_bucket" in metrics and "resident_bot_reloads_total" in metrics
    assert "resident_bot_storage_errors_total" in metrics and "resident_bot_rate_limited_total" in metrics
    for name in ("storage_up 1.0", "records_waiting 0.0", "records_dead_total", "records_written_total"):
        assert f"resident_bot_{name}" in metrics


def cli_commands() -> set[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    out = set(sub.choices)
    for name, p in sub.choices.items():
        inner = [a for a in p._actions if a.__class__.__name__ == "_SubParsersAction"]
        out |= {f"{name} {c}" for a in inner for c in a.choices}
    return out


def command_exists(argv: list[str]) -> bool:
    assert argv[0] == "resident-bot", argv
    return " ".join(argv[1:3]) in cli_commands() or argv[1] in cli_commands()


def test_dockerfile_refers_to_what_exists():
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert text.count("FROM ") >= 2 and "slim" in text  # multi-stage, slim base
    assert re.search(r"^USER (?!root)\w+", text, re.M)
    assert "STOPSIGNAL SIGTERM" in text
    for src in re.findall(r"^COPY (?:--chown=\S+ )?(?!--from)(\S+) ", text, re.M):
        assert (ROOT / src).exists(), f"COPY {src}: no such path"
    cmd = json.loads(re.search(r"^CMD (\[.*\])", text, re.M).group(1))
    assert cmd == ["resident-bot", "serve"] and command_exists(cmd)
    health = re.search(r"HEALTHCHECK.*?CMD (.*)", text, re.S).group(1)
    port = re.search(r"^EXPOSE (\d+)", text, re.M).group(1)
    assert f"127.0.0.1:{port}/healthz" in health and f"PORT={port}" in text
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8")
    assert ".venv" in ignored and ".git" in ignored


def test_compose_file_refers_to_what_exists():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert services["bot"]["deploy"]["replicas"] == 2
    assert services["bot"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "healthcheck" in services["db"] and "pgdata" in compose["volumes"]
    assert services["bot-polling"]["profiles"] == ["polling"]
    for name in ("migrate", "bot", "bot-polling"):
        assert command_exists(services[name]["command"]), name
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name}: {source} does not exist"
    assert services["bot"]["environment"]["PORT"] == "8080"
    nginx = (ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    assert "server bot:8080;" in nginx and "/telegram/webhook" in nginx
    assert "location = /  {" in nginx and "location /web/ {" in nginx  # the chat page and what it loads


def test_readme_quick_start_is_two_commands_and_ci_runs_the_second():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quick = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)\n```", quick, re.S)
    assert len(blocks) == 2 and all("\n" not in b for b in blocks)
    assert shlex.split(blocks[0])[-1] == "chat" and shlex.split(blocks[0])[-2].endswith("resident-bot")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert blocks[1] in ci
    # Everyone installs from the hashed locks, nothing else: the app's (both the chat and the image) and
    # the test suite's (the chat's plus test tools).
    docker = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "--no-deps --require-hashes -r requirements/app.txt" in blocks[0]
    assert "--no-deps --require-hashes -r requirements/dev.txt" in blocks[1]
    assert "--no-deps --require-hashes -r requirements/app.txt" in docker
    assert all(text.count("pip install") == 2 and text.count("--no-deps") == 2 for text in blocks)


def _lock(name: str) -> dict[str, str]:
    """Package → version of a lock file, checking that every requirement is pinned by version and hash."""
    text = (ROOT / "requirements" / name).read_text(encoding="utf-8")
    pins = {}
    for requirement in re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2] if text.startswith("#") else text):
        requirement = re.sub(r"(?m)^\s*#.*$", "", requirement).strip()
        if not requirement:
            continue
        match = re.match(r"([A-Za-z0-9_.\-]+(?:\[[^\]]*\])?)==([^ ;\\]+)", requirement)
        assert match, f"{name}: not pinned: {requirement[:80]}"
        assert "--hash=sha256:" in requirement, f"{name}: {match.group(1)} has no hash"
        pins[re.sub(r"[-_.]+", "-", match.group(1).split("[")[0]).lower()] = match.group(2)
    return pins


def test_lock_files_pin_everything_by_hash_and_agree_with_pyproject_and_the_catalogue():
    import tomllib

    from bot.semantic.catalogue import CATALOGUE, M3E_SMALL
    from bot.semantic.model import DEFAULT_MODEL

    app, dev = _lock("app.txt"), _lock("dev.txt")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    for dependency in project["dependencies"] + project["optional-dependencies"]["dev"]:
        name = re.sub(r"[-_.]+", "-", re.match(r"[A-Za-z0-9_.\-]+", dependency).group(0)).lower()
        assert name in dev, f"{name} is in pyproject.toml but not in the lock: bash requirements/refresh.sh"
        if dependency in project["dependencies"]:
            assert name in app, name
    assert app[DEFAULT_MODEL.package] == DEFAULT_MODEL.version == dev[DEFAULT_MODEL.package]
    assert M3E_SMALL.package not in app  # research use only: never installed for a deployment by default
    assert dev[M3E_SMALL.package] == M3E_SMALL.version == _lock("m3e-small.txt")[M3E_SMALL.package]
    candidates = _lock("candidates.txt")
    assert all(candidates[m.package] == m.version for m in CATALOGUE.values())
