"""The Docker image has the package and what the Dockerfile copies, never tests/: `eval`, `replay` and
`kb impact` must work there. The image's layout is rebuilt from the Dockerfile itself (its final stage's
COPY and ENV lines) under a temporary directory, with the package copied as pip installs it."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def final_stage() -> str:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    return text[text.rindex("\nFROM "):]


def image_layout(tmp: Path) -> dict[str, str]:
    """Lay out /app and the installed package under `tmp`; return the image's environment, mapped there."""
    stage = final_stage()
    workdir = re.search(r"^WORKDIR (\S+)", stage, re.M).group(1)
    app = tmp / workdir.strip("/")
    for src, dest in re.findall(r"^COPY (?:--chown=\S+ )?(?!--from)(\S+) (\S+)", stage, re.M):
        target = app / dest
        (shutil.copytree if (ROOT / src).is_dir() else shutil.copy)(ROOT / src, target)
    shutil.copytree(ROOT / "bot", tmp / "site" / "bot", ignore=shutil.ignore_patterns("__pycache__"))
    env = {}
    for line in re.findall(r"^ENV (.*)$", stage, re.M):
        for pair in shlex.split(line):
            name, _, value = pair.partition("=")
            if name == "PATH":  # the image's /venv is this test's own interpreter and PYTHONPATH
                continue
            env[name] = value.replace(workdir, str(app)).replace("/home/resident", str(tmp / "home"))
    return env


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("image")
    image_env = image_layout(tmp)
    labelled = Path(image_env["LABELLED_QUESTIONS"])
    conversations = Path(image_env["CONVERSATIONS_DIR"])
    assert labelled.is_file() and any(conversations.glob("*.yaml")), "the Dockerfile must copy both"
    # The paths are what is tested here, not accuracy: keep a few questions and one conversation file.
    items = yaml.safe_load(labelled.read_text(encoding="utf-8"))
    labelled.write_text(yaml.safe_dump(items[:5], allow_unicode=True), encoding="utf-8")
    for extra in sorted(conversations.glob("*.yaml"))[1:]:
        extra.unlink()
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp / "home"), **image_env, "PYTHONPATH": str(tmp / "site"),
           "SEMANTIC_MODEL": "off", "LOG_FORMAT": "text"}
    return tmp, env


def run(image, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    tmp, env = image
    env = {k: v for k, v in {**env, **extra}.items() if v is not None}
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=tmp / "app", env=env, capture_output=True,
                          text=True, timeout=300)


def test_the_package_runs_from_the_image_layout_not_the_clone(image):
    tmp, env = image
    found = subprocess.run([sys.executable, "-c", "import bot; print(bot.__file__)"], cwd=tmp / "app", env=env,
                           capture_output=True, text=True, check=True)
    assert found.stdout.strip() == str(tmp / "site" / "bot" / "__init__.py")


def test_replay_eval_and_impact_work_in_the_image(image):
    replay = run(image, "replay")
    assert replay.returncode == 0, replay.stderr
    assert re.fullmatch(r"\d+ passed, 0 failed", replay.stdout.strip().splitlines()[-1])
    evaluation = run(image, "eval")
    assert evaluation.returncode == 0, evaluation.stderr
    assert evaluation.stdout.startswith("labelled questions: 5, knowledge base ")
    tmp, _ = image
    impact = run(image, "kb", "impact", "--against", str(tmp / "app" / "knowledge"))
    assert impact.returncode == 0, impact.stderr
    assert impact.stdout.strip().splitlines()[-1].startswith("0 of 5 labelled questions change; 0 replay")


def test_without_the_settings_one_line_says_what_to_set(image):
    evaluation = run(image, "eval", LABELLED_QUESTIONS=None)
    assert evaluation.returncode == 2
    assert evaluation.stderr == ("resident-bot: LABELLED_QUESTIONS is not set and there is no "
                                 "tests/data/labelled_questions.yaml here (an installed package has no tests/): "
                                 "set LABELLED_QUESTIONS, or run from a clone of the repository\n")
    replay = run(image, "replay", CONVERSATIONS_DIR="/nowhere")
    assert (replay.returncode, replay.stderr) == (2, "resident-bot: CONVERSATIONS_DIR=/nowhere: no such file or "
                                                     "directory\n")
