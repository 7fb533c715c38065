"""Faults between the bot and its services: what residents get, and what the database keeps.

Usage:
    .venv/bin/python benchmarks/faults.py [--outage 30] [--rate 25] [--baseline REF | --baseline none]
        [--only db-blackhole,kill-9-refused,...] [--database-url URL] [--redis-url URL]

Runs `resident-bot serve --no-telegram` against real PostgreSQL (and Redis for `redis-hung`) through a
TCP proxy on 127.0.0.1 that breaks the way to them (the services themselves are never touched), sends
messages to /api/v1/messages at a fixed rate whatever the replies do (every message from a resident of
its own, so that each record can be told apart), and prints one row per scenario and code:

  db-blackhole   the database stops answering (blackholed) for --outage s, with traffic before and after
  db-refused     the same with connections refused
  kill-9-refused connections refused (kill-9-hung: blackholed); after 10 s of it the server is killed
                 with SIGKILL, the database returns, a new server starts on the same data directory
  nul            a message holding a NUL byte, then normal ones, database up
  db-down-start  the database refuses connections when the server starts; it returns 10 s later
  redis-hung     Redis blackholed (rate limiter): throughput with 20 residents at once, beside Redis up

Each scenario runs on this checkout and on --baseline (default: 329f3ec, the code before the background
writer; `git archive` into a temporary directory, run with this venv) in the same run, each in a
PostgreSQL schema of its own. Columns: replies (HTTP 200), errors (other answers, or none), reply p50 /
p99 / max, records expected (replies), stored, lost, duplicated (stored more than once), storage log
lines and tracebacks in the server's log.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import dataclasses
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from serve_process import free_port  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from tests.auxil.db import in_schema  # noqa: E402
from tests.auxil.faultproxy import FaultProxy  # noqa: E402

BASELINE = "329f3ec"  # main before records left the reply path
SALT = "faults-benchmark"  # USER_ID_SALT of the servers under test
QUESTIONS = ["厂通路哪年通车", "潞河附校晚托到几点", "和滨海新区跨省通办多少项", "公租房配租多少户", "你好",
             "公积金怎么提取", "一键呼", "绿心公园几点开门", "三大建築什麼時候開放"]
SCENARIOS = ("db-blackhole", "db-refused", "kill-9-refused", "kill-9-hung", "nul", "db-down-start", "redis-hung")


@dataclasses.dataclass
class Row:
    scenario: str
    code: str
    started: bool = True
    replies: int = 0
    errors: int = 0
    latencies: list[float] = dataclasses.field(default_factory=list)
    expected: int = 0
    stored: int = 0
    lost: int = 0
    duplicated: int = 0
    log_lines: int = 0
    tracebacks: int = 0
    note: str = ""

    def cells(self) -> list[str]:
        lat = sorted(self.latencies)

        def pct(q: float) -> str:
            return f"{lat[min(len(lat) - 1, int(len(lat) * q))] * 1000:,.0f}" if lat else "-"

        if not self.started:
            return [self.scenario, self.code, "did not start", *["-"] * 10, self.note]
        return [self.scenario, self.code, str(self.replies), str(self.errors), pct(0.5), pct(0.99),
                f"{lat[-1] * 1000:,.0f}" if lat else "-", str(self.expected), str(self.stored), str(self.lost),
                str(self.duplicated), str(self.log_lines), str(self.tracebacks), self.note]


HEADER = ["scenario", "code", "replies", "errors", "p50 ms", "p99 ms", "max ms", "expected", "stored", "lost",
          "duplicated", "log lines", "tracebacks", "note"]


# -- the server under test --------------------------------------------------------------------------


class Server:
    def __init__(self, code_dir: Path, env: dict[str, str], log: Path):
        self.code_dir, self.env, self.log = code_dir, env, log
        self.proc: subprocess.Popen | None = None
        self.url = ""

    def start(self, wait: float = 120) -> bool:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "serve", "--no-telegram", "--port", str(port)],
                cwd=self.code_dir, env={**os.environ, "PYTHONPATH": str(self.code_dir), **self.env},
                stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and self.proc.poll() is None:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return True
            time.sleep(0.3)
        self.kill()
        return False

    def health(self) -> dict:
        with contextlib.suppress(httpx.HTTPError, ValueError):
            return httpx.get(f"{self.url}/healthz", timeout=5).json()
        return {}

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(90)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(30)

    def log_counts(self) -> tuple[int, int]:
        """(storage log lines, tracebacks) in what the server wrote."""
        lines = self.log.read_text(encoding="utf-8", errors="replace").splitlines() if self.log.exists() else []
        storage = sum(any(w in line for w in ("storage", "database", "record")) for line in lines)
        return storage, sum("Traceback" in line for line in lines)


@contextlib.contextmanager
def code_checkout(ref: str) -> Iterator[Path]:
    if ref == "HEAD+":
        yield ROOT
        return
    with tempfile.TemporaryDirectory(prefix="faults-baseline-") as tmp:
        archive = subprocess.run(["git", "archive", ref], cwd=ROOT, check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        yield Path(tmp)


# -- traffic -----------------------------------------------------------------------------------------


async def send_at_rate(url: str, seconds: float, rate: float, tag: str, row: Row, replied: dict[str, str],
                       texts: list[str] | None = None, on_tick=None) -> None:
    """Open loop: message i leaves at i/rate s whatever happened to the earlier ones."""
    async with httpx.AsyncClient(timeout=180, limits=httpx.Limits(max_connections=2000)) as client:
        async def one(i: int) -> None:
            user = f"{tag}-{i}"
            text = (texts or QUESTIONS)[i % len(texts or QUESTIONS)]
            started = time.perf_counter()
            try:
                r = await client.post(f"{url}/api/v1/messages", json={"user": user, "text": text})
            except httpx.HTTPError:
                row.errors += 1
                return
            if r.status_code != 200:
                row.errors += 1
                return
            row.latencies.append(time.perf_counter() - started)
            row.replies += 1
            replied[user] = r.json().get("interaction_id") or ""

        tasks, start, n = [], time.monotonic(), int(seconds * rate)
        for i in range(n):
            await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
            if on_tick:
                on_tick(time.monotonic() - start)
            tasks.append(asyncio.create_task(one(i)))
        await asyncio.gather(*tasks)


def traffic(server: Server, seconds: float, rate: float, tag: str, row: Row, replied: dict[str, str],
            texts: list[str] | None = None, on_tick=None, stop_after: float | None = None) -> None:
    coro = send_at_rate(server.url, seconds, rate, tag, row, replied, texts, on_tick)
    if stop_after is None:
        asyncio.run(coro)
        return

    async def bounded() -> None:  # kill-9: replies in flight at the kill never come
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(coro, stop_after)

    asyncio.run(bounded())


# -- counting ----------------------------------------------------------------------------------------


def count_records(db_url: str, replied: dict[str, str], row: Row) -> None:
    """Each message came from a resident of its own, so its conversation must hold exactly one record:
    the one whose id its reply carried."""
    engine = create_engine(db_url)
    with engine.connect() as conn:
        conversation_of = dict(conn.execute(text("SELECT id, conversation_id FROM interactions")).all())
    engine.dispose()
    per_conversation = collections.Counter(conversation_of.values())
    ids = [i for i in replied.values() if i]
    mine = {conversation_of[i] for i in ids if i in conversation_of}
    row.expected = len(replied)
    row.stored = sum(i in conversation_of for i in ids)
    row.lost = row.expected - row.stored
    row.duplicated = sum(per_conversation[c] - 1 for c in mine)


def wait_stored(db_url: str, expected: int, settle: float = 20, limit: float = 120) -> None:
    """Until every expected record is in, or nothing has changed for `settle` s."""
    engine = create_engine(db_url)
    last, changed, deadline = -1, time.monotonic(), time.monotonic() + limit
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception), engine.connect() as conn:
            n = conn.execute(text("SELECT count(*) FROM interactions")).scalar_one()
            if n >= expected:
                break
            if n != last:
                last, changed = n, time.monotonic()
        if time.monotonic() - changed > settle:
            break
        time.sleep(1)
    engine.dispose()


# -- scenarios ---------------------------------------------------------------------------------------


class Bench:
    def __init__(self, args: argparse.Namespace, work: Path):
        self.args, self.work = args, work
        self.schemas: list[str] = []  # dropped at the end

    def fresh(self, code_dir: Path, scenario: str, code: str, proxy: FaultProxy) -> tuple[str, str, dict[str, str]]:
        """A new schema (upgraded by the code under test), the URLs direct and proxied, and its env."""
        name = f"faults_{uuid.uuid4().hex[:10]}"
        base = self.args.database_url
        engine = create_engine(base)
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{name}"'))
        engine.dispose()
        direct = in_schema(base, name)
        subprocess.run([sys.executable, "-m", "bot.cli", "db", "upgrade"], cwd=code_dir, check=True,
                       capture_output=True, env={**os.environ, "PYTHONPATH": str(code_dir), "DATABASE_URL": direct})
        data = self.work / f"{scenario}-{code}-{name}"
        env = {"DATABASE_URL": proxy.url(direct), "DATA_DIR": str(data), "USER_ID_SALT": SALT,
               "RATE_LIMIT_PER_MINUTE": "10000000", "API_RATE_PER_MINUTE": "10000000", "LOG_FORMAT": "json",
               "REDIS_URL": ""}
        self.schemas.append(name)
        return direct, str(data), env

    def run(self, scenario: str, code: str, code_dir: Path, steps, *, down_at_start: bool = False,
            redis: FaultProxy | None = None) -> Row:
        """What every scenario shares: a fresh schema behind a proxy, a server, `steps(server, proxy, row,
        replied)` sending the traffic and making the faults, then the records counted once stored."""
        row, replied = Row(scenario, code), {}
        with FaultProxy(db_port(self.args.database_url)) as proxy:
            direct, data, env = self.fresh(code_dir, scenario, code, proxy)
            if redis is not None:
                env["REDIS_URL"] = redis.url(self.args.redis_url)
            if down_at_start:
                proxy.refuse()
            server = Server(code_dir, env, Path(data + ".log"))
            if server.start(wait=60 if down_at_start else 120):
                steps(server, proxy, row, replied)
                proxy.restore()
                wait_stored(direct, len(replied))
                server.stop()
            else:
                row.started = False
                row.note = "exited: it needs the database to start" if down_at_start else "did not answer /healthz"
            row.log_lines, row.tracebacks = server.log_counts()
        if row.started:
            count_records(direct, replied, row)
        return row

    def outage(self, scenario: str, code: str, code_dir: Path) -> Row:
        rate, before, outage, after = self.args.rate, 5.0, self.args.outage, 10.0

        def steps(server: Server, proxy: FaultProxy, row: Row, replied: dict[str, str]) -> None:
            fault = proxy.blackhole if scenario == "db-blackhole" else proxy.refuse
            phase = ["up"]

            def tick(t: float) -> None:  # the fault begins and ends on the traffic's own clock
                if phase[0] == "up" and t >= before:
                    phase[0] = "down"
                    fault()
                elif phase[0] == "down" and t >= before + outage:
                    phase[0] = "back"
                    proxy.restore()

            traffic(server, before + outage + after, rate, f"{scenario}-{code}", row, replied, on_tick=tick)

        return self.run(scenario, code, code_dir, steps)

    def kill9(self, scenario: str, code: str, code_dir: Path) -> Row:
        rate = self.args.rate

        def steps(server: Server, proxy: FaultProxy, row: Row, replied: dict[str, str]) -> None:
            traffic(server, 5, rate, f"{scenario}-{code}-a", row, replied)
            (proxy.refuse if scenario == "kill-9-refused" else proxy.blackhole)()
            traffic(server, 60, rate, f"{scenario}-{code}-b", row, replied, stop_after=10)
            server.kill()
            proxy.restore()
            again = Server(code_dir, server.env, server.log)  # the same data directory: the journal is there
            if again.start():
                deadline = time.monotonic() + 120
                while again.health().get("records_waiting") and time.monotonic() < deadline:
                    time.sleep(0.5)
                again.stop()
            row.note = "in flight at the kill: no reply, not expected"

        return self.run(scenario, code, code_dir, steps)

    def nul(self, scenario: str, code: str, code_dir: Path) -> Row:
        texts = ["潞河附校晚托\x00到几点", *QUESTIONS * 12]

        def steps(server: Server, _proxy: FaultProxy, row: Row, replied: dict[str, str]) -> None:
            traffic(server, len(texts) / self.args.rate, self.args.rate, f"{scenario}-{code}", row, replied, texts)

        return self.run(scenario, code, code_dir, steps)

    def down_at_start(self, scenario: str, code: str, code_dir: Path) -> Row:
        def steps(server: Server, proxy: FaultProxy, row: Row, replied: dict[str, str]) -> None:
            traffic(server, 10, self.args.rate, f"{scenario}-{code}-a", row, replied)
            proxy.restore()
            traffic(server, 10, self.args.rate, f"{scenario}-{code}-b", row, replied)

        return self.run(scenario, code, code_dir, steps, down_at_start=True)

    def redis_hung(self, scenario: str, code: str, code_dir: Path) -> list[Row]:
        rows = []
        with FaultProxy(int(self.args.redis_url.rsplit(":", 1)[1].split("/")[0])) as redis:
            for state in ("up", "hung"):
                def steps(server: Server, _proxy: FaultProxy, row: Row, replied: dict[str, str],
                          state: str = state) -> None:
                    if state == "hung":
                        redis.blackhole()
                    started = time.monotonic()
                    asyncio.run(closed_loop(server.url, 20, 10, f"{scenario}-{state}-{code}", row, replied))
                    row.note = f"{row.replies / (time.monotonic() - started):.1f} msg/s, 20 residents at once"
                    redis.restore()

                rows.append(self.run(f"redis-{state}", code, code_dir, steps, redis=redis))
        return rows


async def closed_loop(url: str, clients: int, seconds: float, tag: str, row: Row, replied: dict[str, str]) -> None:
    stop = time.monotonic() + seconds
    async with httpx.AsyncClient(timeout=60) as client:
        async def resident(k: int) -> None:
            i = 0
            while time.monotonic() < stop:
                user = f"{tag}-{k}-{i}"
                started = time.perf_counter()
                try:
                    r = await client.post(f"{url}/api/v1/messages",
                                          json={"user": user, "text": QUESTIONS[i % len(QUESTIONS)]})
                    if r.status_code == 200:
                        row.replies += 1
                        row.latencies.append(time.perf_counter() - started)
                        replied[user] = r.json().get("interaction_id") or ""
                    else:
                        row.errors += 1
                except httpx.HTTPError:
                    row.errors += 1
                i += 1

        await asyncio.gather(*(resident(k) for k in range(clients)))


def db_port(url: str) -> int:
    from sqlalchemy.engine import make_url

    return make_url(url).port or 5432


def print_table(rows: list[Row]) -> None:
    print("| " + " | ".join(HEADER) + " |")
    print("|" + "---|" * len(HEADER))
    for r in rows:
        print("| " + " | ".join(r.cells()) + " |", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--outage", type=float, default=30, help="seconds the database stays away")
    parser.add_argument("--rate", type=float, default=25, help="messages per second")
    parser.add_argument("--baseline", default=BASELINE, help="git ref of the code to compare with, or none")
    parser.add_argument("--only", default=",".join(SCENARIOS), help="comma-separated scenarios")
    parser.add_argument("--database-url", default=os.environ.get(
        "TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--redis-url", default=os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15"))
    args = parser.parse_args()
    wanted = [s.strip() for s in args.only.split(",") if s.strip()]
    codes = [("this", "HEAD+")] + ([] if args.baseline == "none" else [(f"baseline {args.baseline}", args.baseline)])
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="faults-") as work:
        bench = Bench(args, Path(work))
        try:
            for scenario in wanted:
                for code, ref in codes:
                    with code_checkout(ref) as code_dir:
                        print(f"… {scenario} on {code}", file=sys.stderr, flush=True)
                        if scenario in ("db-blackhole", "db-refused"):
                            rows.append(bench.outage(scenario, code, code_dir))
                        elif scenario.startswith("kill-9-"):
                            rows.append(bench.kill9(scenario, code, code_dir))
                        elif scenario == "nul":
                            rows.append(bench.nul(scenario, code, code_dir))
                        elif scenario == "db-down-start":
                            rows.append(bench.down_at_start(scenario, code, code_dir))
                        elif scenario == "redis-hung":
                            rows.extend(bench.redis_hung(scenario, code, code_dir))
                        else:
                            parser.error(f"unknown scenario {scenario}")
        finally:
            engine = create_engine(args.database_url)
            with engine.begin() as conn:
                for name in bench.schemas:
                    conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
            engine.dispose()
    print(f"\n{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores; outage {args.outage:.0f} s at {args.rate:g} msg/s; "
          f"each message from a resident of its own\n")
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
