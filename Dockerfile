# resident-bot: console by default for now; `resident-bot serve` arrives with the webhook issue.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 resident
COPY --from=build /install /usr/local
WORKDIR /app
COPY knowledge ./knowledge
COPY intents ./intents
ENV KNOWLEDGE_DIR=/app/knowledge INTENTS_DIR=/app/intents XDG_DATA_HOME=/home/resident/.local/share \
    PYTHONUNBUFFERED=1
USER resident
# knowledge/ and intents/ can be mounted over these paths so administrators edit without rebuilding.
VOLUME ["/app/knowledge", "/app/intents"]
STOPSIGNAL SIGTERM
CMD ["resident-bot", "chat"]
