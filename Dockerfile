# resident-bot: `resident-bot serve` (webhook + HTTP API) by default.
# Build: docker build -t resident-bot .    Run: docker run --env-file .env -p 8080:8080 resident-bot

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# Everything from the hashed lock, nothing else (--no-deps: a package cannot pull in what the lock lacks).
# Dependencies first, in their own layer: rebuilt only when the lock changes.
WORKDIR /src
COPY requirements/app.txt requirements/app.txt
RUN python -m venv /venv \
    && /venv/bin/pip install --no-deps --require-hashes -r requirements/app.txt
COPY pyproject.toml README.md ./
COPY bot ./bot
# Built with the lock's setuptools, not a fresh unpinned download.
RUN /venv/bin/pip install --no-deps --no-build-isolation .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 resident
COPY --from=build /venv /venv
WORKDIR /app
COPY --chown=resident knowledge ./knowledge
COPY --chown=resident intents ./intents
# The labelled questions and conversation tests, so that `eval`, `replay` and `kb impact` work here too
# (the package never reads tests/; these settings say where the files are).
COPY --chown=resident tests/data ./evaluation
COPY --chown=resident tests/conversations ./conversations
ENV PATH=/venv/bin:$PATH \
    KNOWLEDGE_DIR=/app/knowledge \
    INTENTS_DIR=/app/intents \
    LABELLED_QUESTIONS=/app/evaluation/labelled_questions.yaml \
    CONVERSATIONS_DIR=/app/conversations \
    XDG_DATA_HOME=/home/resident/.local/share \
    XDG_CACHE_HOME=/home/resident/.cache \
    HOST=0.0.0.0 \
    PORT=8080 \
    LOG_FORMAT=json \
    PYTHONUNBUFFERED=1
# The data directory exists, owned by the bot, so that a volume mounted there is too (journal, set-aside records).
RUN mkdir -p /home/resident/.local/share/resident-bot && chown -R resident /home/resident/.local \
    && chmod 700 /home/resident/.local/share/resident-bot
USER resident
# Administrators edit knowledge/ and intents/ without rebuilding: mount them over these paths.
VOLUME ["/app/knowledge", "/app/intents"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4); sys.exit(0)"
STOPSIGNAL SIGTERM
CMD ["resident-bot", "serve"]
