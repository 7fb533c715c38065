"""Logs and metrics: one structured line per message handled, and Prometheus counters for operators.

Nothing here ever sees a raw resident id or the bot token: records carry only the salted hash.
"""

from __future__ import annotations

import json
import logging
import sys
import time

from prometheus_client import Counter, Gauge, Histogram

MESSAGES = Counter("resident_bot_messages_total", "Messages handled, by outcome", ["status", "channel"])
LATENCY = Histogram("resident_bot_message_seconds", "Time to build a reply",
                    buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5))
RELOADS = Counter("resident_bot_reloads_total", "Knowledge base reloads, by result", ["result"])
STORAGE_ERRORS = Counter("resident_bot_storage_errors_total", "Failed writes to the database")
STORAGE_UP = Gauge("resident_bot_storage_up", "1 while the database takes writes, 0 during an outage")
RECORDS_WAITING = Gauge("resident_bot_records_waiting", "Records in the local journal, not in the database yet")
RECORDS_WRITTEN = Counter("resident_bot_records_written_total", "Records stored in the database")
RECORDS_DEAD = Counter("resident_bot_records_dead_total",
                       "Records the database refused even after cleaning, set aside in dead-records.jsonl")
CLAIMS_UNCHECKED = Counter("resident_bot_claims_unchecked_total",
                           "Deliveries handled without checking for a redelivery: the database did not say in time")
CONTEXT_MISSES = Counter("resident_bot_context_read_fallbacks_total",
                         "Context reads that took too long or found the database away; answered without it")
RATE_LIMITED = Counter("resident_bot_rate_limited_total", "Messages refused by the per-resident rate limit")
FORBIDDEN = Counter("resident_bot_webhook_forbidden_total", "Webhook calls without the right secret")

_FIELDS = ("status", "entry_id", "intent_id", "score", "latency_ms", "kb_version", "user_hash", "channel",
           "conversation")
interactions_log = logging.getLogger("bot.interactions")


def observe_interaction(record) -> None:
    """Called by the dialogue for every message: one log line and the counters."""
    MESSAGES.labels(record.status, record.channel).inc()
    LATENCY.observe(record.latency_ms / 1000)
    interactions_log.info("message handled", extra={
        "status": record.status, "entry_id": record.entry_id, "intent_id": record.intent_id,
        "score": record.score, "latency_ms": record.latency_ms, "kb_version": record.kb_version,
        "user_hash": record.user_hash, "channel": record.channel, "conversation": record.conversation_id,
    })


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {"time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + "Z",
                "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage()}
        for key in _FIELDS:
            if hasattr(record, key):
                data[key] = getattr(record, key)
        if record.exc_info:
            data["error"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


def configure_logging(fmt: str = "auto", level: int = logging.INFO) -> None:
    """JSON lines for services and containers, plain text for a person at a terminal."""
    if fmt == "auto":
        fmt = "text" if sys.stderr.isatty() else "json"
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else
                         logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("alembic", "httpx", "httpcore", "watchfiles"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
