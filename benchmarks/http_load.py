"""Throughput of the HTTP API: concurrent clients, SQLite and PostgreSQL, one process or two behind the bundled
nginx configuration, beside the previous code.

Usage:
    .venv/bin/python benchmarks/http_load.py [--clients 20,100] [--databases sqlite,postgresql]
        [--processes 1,2] [--seconds 20] [--baseline REF | --baseline none] [--baseline-python PATH]
        [--database-url URL] [--questions repeated,distinct] [--client lean|httpx]

Starts `resident-bot serve --no-telegram` (words only, so that the HTTP path and the storage are what is
measured; questions the words answer never ask a sentence model anyway) on 127.0.0.1 with a fresh
database: a new SQLite file, or a PostgreSQL schema of its own. `clients` simulated residents each send
their next message as soon as the previous reply arrives (closed loop), for `seconds` after a short
warm-up, questions the knowledge base answers and follow-ups. Then it waits for the background writer
and counts the records: every answered message must be stored exactly once.

`--questions`: `repeated` (residents ask the same seven conversations again and again, as residents do:
after the first few, every answer is one the bot has given before) or `distinct` (every message a question
never sent before in the run: the knowledge base's own questions and the labelled sets' answerable ones,
with varied openings and endings, so that no remembered decision serves it and every message is matched).

`--client`: `lean` (benchmarks/lean_client.py, a keep-alive HTTP/1.1 client of a few dozen lines) or
`httpx`, which costs more CPU per request than the server under test (see lean_client.py): the clients
share the cores with the server, so it caps the rate measured. The client's own CPU per message is shown.

With `--processes 2`, two such servers share the database and a data directory (as compose.yaml's replicas
do) behind nginx run with that code's own deploy/nginx.conf as it is, its upstream pointed at the two ports
(`nginx` must be on PATH or in /usr/sbin: Debian's `apt-get install nginx-light`; without it those rows say so
and are skipped). The clients then talk to nginx; CPU per message is both servers' together, nginx's own beside it.

Each configuration runs on this checkout and on --baseline (`git archive` of that ref into a temporary
directory, run with this venv, or with --baseline-python: a venv made from that ref's own lock files, so that
the previous code runs on its own dependencies) in the same run, one after the other. Columns: msg/s, p50/p99 latency,
errors (non-200 or no answer), records stored / messages answered, the server's CPU time per message
(less sensitive than wall time to what else the machine is doing) and its peak resident memory.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lean_client import HttpError, LeanConnection  # noqa: E402
from serve_process import free_port  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from tests.auxil.db import in_schema  # noqa: E402

BASELINE = "c4de4ba"  # main just before issue 20's changes landed
SALT = "http-load-benchmark"
WARM_UP = 3.0  # seconds of traffic not counted: connections opened, caches warm
# Conversations the words answer (a follow-up is the second message): a resident repeats them.
TURNS = [["厂通路哪年通车", "那什么时候开工的"], ["和滨海新区跨省通办多少项", "那廊坊呢"], ["潞河附校晚托到几点"],
         ["公租房配租了多少户"], ["绿心公园几点开门"], ["三大建築什麼時候開放"], ["城市副中心公积金怎么提取"]]
# `--questions distinct`: a question is sent once, wrapped in one of these (a resident's own opening and ending).
OPENINGS = ["", "请问", "我想问一下", "麻烦问下", "想了解一下", "问一下"]
ENDINGS = ["", "？", "?", "。", "呀", "啊", "呢？", "！"]


def distinct_questions() -> Iterator[str]:
    """Questions never repeated: every knowledge base question and every answerable labelled or hold-out
    question (no follow-ups), in each opening and ending; past the end, the same with more question marks."""
    base: list[str] = []
    for path in sorted((ROOT / "knowledge").glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and isinstance(data.get("entries"), list):
            base += [str(q) for e in data["entries"] for q in e.get("questions", [])]
    for name in ("labelled_questions", "holdout_questions", "holdout2_questions"):
        items = yaml.safe_load((ROOT / "tests" / "data" / f"{name}.yaml").read_text(encoding="utf-8"))
        base += [str(it["q"]) for it in items if it.get("faq") and not it.get("context")]
    base = list(dict.fromkeys(base))
    sent: set[str] = set()  # 请问 + a question may be another question as written
    extra = ""
    while True:
        for ending in ENDINGS:
            for opening in OPENINGS:
                for q in base:
                    if (message := f"{opening}{q}{ending}{extra}") not in sent:
                        sent.add(message)
                        yield message
        extra += "？"


@dataclasses.dataclass
class Result:
    code: str
    database: str
    clients: int
    processes: int = 1
    questions: str = "repeated"
    seconds: float = 0.0
    answered: int = 0
    errors: int = 0
    latencies: list[float] = dataclasses.field(default_factory=list)
    stored: int = -1
    cpu: float = 0.0
    client_cpu: float = 0.0  # the load generator's own CPU seconds over the counted seconds
    rss_mb: float = 0.0
    proxy_cpu: float = -1.0  # nginx's CPU seconds, when there is one
    note: str = ""

    def cells(self) -> list[str]:
        lat = sorted(self.latencies)

        def pct(q: float) -> str:
            return f"{lat[min(len(lat) - 1, int(len(lat) * q))] * 1000:.1f}" if lat else "-"

        # msg/s and latencies from the counted seconds; records against every message answered.
        rate = len(lat) / self.seconds if self.seconds else 0.0
        per = f"{self.cpu * 1000 / len(lat):.2f}" if lat else "-"
        if lat and self.proxy_cpu >= 0:
            per += f" (+ nginx {self.proxy_cpu * 1000 / len(lat):.2f})"
        setup = "1" if self.processes == 1 else f"{self.processes} + nginx"
        client = f"{self.client_cpu * 1000 / len(lat):.2f}" if lat else "-"
        return [self.code, self.database, setup, str(self.clients), self.questions, f"{rate:.0f}", pct(0.5),
                pct(0.99), str(self.errors), f"{self.stored} / {self.answered}", per, client, f"{self.rss_mb:.0f}",
                self.note]


HEADER = ["code", "database", "processes", "clients", "questions", "msg/s", "p50 ms", "p99 ms", "errors",
          "records / messages", "server CPU ms/msg", "client CPU ms/msg", "peak RSS MB (each)", "note"]


@contextlib.contextmanager
def code_checkout(ref: str) -> Iterator[Path]:
    if ref == "HEAD+":
        yield ROOT
        return
    with tempfile.TemporaryDirectory(prefix="http-load-baseline-") as tmp:
        archive = subprocess.run(["git", "archive", ref], cwd=ROOT, check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        yield Path(tmp)


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a running process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Database:
    def __init__(self, kind: str, base_url: str, work: Path):
        self.kind, self.base_url, self.work = kind, base_url, work
        self.schemas: list[str] = []

    def fresh(self, code_dir: Path, python: str = sys.executable) -> str:
        """A new, upgraded database (by the code under test)."""
        if self.kind == "sqlite":
            url = f"sqlite:///{self.work}/{uuid.uuid4().hex[:10]}.sqlite3"
        else:
            name = f"http_load_{uuid.uuid4().hex[:10]}"
            engine = create_engine(self.base_url)
            with engine.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{name}"'))
            engine.dispose()
            self.schemas.append(name)
            url = in_schema(self.base_url, name)
        subprocess.run([python, "-m", "bot.cli", "db", "upgrade"], cwd=code_dir, check=True,
                       capture_output=True, env={**os.environ, "PYTHONPATH": str(code_dir), "DATABASE_URL": url})
        return url

    def drop(self) -> None:
        if not self.schemas:
            return
        engine = create_engine(self.base_url)
        with engine.begin() as conn:
            for name in self.schemas:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        engine.dispose()


def count_interactions(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM interactions")).scalar_one())
    finally:
        engine.dispose()


def wait_stored(url: str, expected: int, settle: float = 15, limit: float = 120) -> int:
    """Records once the writer is done: all expected are in, or nothing changed for `settle` s."""
    last, changed, deadline = -1, time.monotonic(), time.monotonic() + limit
    while time.monotonic() < deadline:
        n = count_interactions(url)
        if n >= expected:
            return n
        if n != last:
            last, changed = n, time.monotonic()
        if time.monotonic() - changed > settle:
            return n
        time.sleep(0.5)
    return count_interactions(url)


def conversations(questions: str, n: int) -> Iterator[list[str]]:
    """Resident n's next conversations: the seven again and again, or one never-asked question at a time."""
    if questions == "distinct":
        return ([q] for q in DISTINCT)
    return (TURNS[(n + i) % len(TURNS)] for i in itertools.count())


DISTINCT = distinct_questions()  # shared by every resident of a run: no question is sent twice


class HttpxPoster:
    def __init__(self, client: httpx.AsyncClient, url: str):
        self.client, self.url = client, url

    async def post(self, payload: dict) -> bool:
        try:
            r = await self.client.post(f"{self.url}/api/v1/messages", json=payload)
            return r.status_code == 200 and "text" in r.json()
        except (httpx.HTTPError, ValueError):
            return False


class LeanPoster:
    def __init__(self, url: str):
        self.connection = LeanConnection(url)

    async def post(self, payload: dict) -> bool:
        try:
            status, body = await self.connection.post_json("/api/v1/messages", payload)
            return status == 200 and "text" in json.loads(body)
        except (HttpError, ValueError):
            return False


async def load(url: str, clients: int, seconds: float, result: Result, cpu: Callable[[], float],
               client: str = "lean") -> None:
    """Closed loop; the server's CPU time (and the client's own) is read at the start and the end of the
    counted seconds."""
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients, keepalive_expiry=2.0)
    start = time.monotonic()
    counting_from, stop = start + WARM_UP, start + WARM_UP + seconds

    async def meter() -> None:
        await asyncio.sleep(WARM_UP)
        before, own = cpu(), time.process_time()
        await asyncio.sleep(seconds)
        result.cpu, result.client_cpu = cpu() - before, time.process_time() - own

    async with httpx.AsyncClient(timeout=30, limits=limits) as shared:
        async def resident(n: int) -> None:
            poster = HttpxPoster(shared, url) if client == "httpx" else LeanPoster(url)
            for turns in conversations(result.questions, n):
                if time.monotonic() >= stop:
                    break
                for message in turns:
                    began = time.monotonic()
                    if not await poster.post({"user": f"load-{n}", "text": message}):
                        result.errors += 1
                        continue
                    result.answered += 1  # every answer is a record, warm-up included
                    if began >= counting_from and time.monotonic() <= stop:
                        result.latencies.append(time.monotonic() - began)
            if isinstance(poster, LeanPoster):
                await poster.connection.close()

        await asyncio.gather(meter(), *(resident(n) for n in range(clients)))
    result.seconds = seconds


def run_loop(coroutine: Coroutine[object, object, None]) -> None:
    """On uvloop when it is installed, as the server runs: the load generator's own CPU is what it costs."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(coroutine)
        return
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(coroutine)


def nginx_binary() -> str | None:
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")


def nginx_config(work: Path, listen: int, upstreams: list[int], code_dir: Path = ROOT) -> Path:
    """The code's own deploy/nginx.conf as it is, inside a minimal main context, its upstream pointed at
    `upstreams`."""
    site = (code_dir / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    servers = " ".join(f"server 127.0.0.1:{port};" for port in upstreams)
    if "server bot:8080;" not in site or "listen 80;" not in site:
        raise SystemExit("deploy/nginx.conf changed: update nginx_config() in benchmarks/http_load.py")
    site = site.replace("server bot:8080;", servers).replace("listen 80;", f"listen 127.0.0.1:{listen};")
    temp = " ".join(f"{kind}_temp_path {work}/{kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    path = work / "nginx.conf"
    # worker_processes auto, as the nginx image's own main configuration has it.
    path.write_text(f"worker_processes auto;\ndaemon off;\npid {work}/nginx.pid;\nerror_log {work}/error.log;\n"
                    f"events {{ worker_connections 4096; }}\nhttp {{\naccess_log off;\n{temp}\n{site}\n}}\n",
                    encoding="utf-8")
    return path


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process and its children (nginx's master and workers)."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    kids = [int(c) for c in children.read_text().split()] if children.exists() else []
    total = process_cpu(pid)
    for kid in kids:
        with contextlib.suppress(OSError):
            total += process_cpu(kid)
    return total


def wait_healthy(base: str, procs: list[subprocess.Popen], limit: float = 180) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and all(p.poll() is None for p in procs):
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return True
        time.sleep(0.3)
    return False


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()


def run_one(code: str, code_dir: Path, db: Database, clients: int, seconds: float, processes: int = 1,
            python: str = sys.executable, questions: str = "repeated", client: str = "lean") -> Result:
    result = Result(code, db.kind, clients, processes, questions)
    nginx = nginx_binary() if processes > 1 else None
    if processes > 1 and nginx is None:
        result.note = "skipped: nginx not installed (Debian: apt-get install nginx-light)"
        return result
    url = db.fresh(code_dir, python)
    data_dir = db.work / f"data-{uuid.uuid4().hex[:8]}"  # shared by the replicas, like compose's botdata volume
    env = {**os.environ, "PYTHONPATH": str(code_dir), "DATABASE_URL": url, "USER_ID_SALT": SALT,
           "DATA_DIR": str(data_dir), "CACHE_DIR": str(db.work / "cache"),
           "SEMANTIC_MODEL": "off", "RATE_LIMIT_PER_MINUTE": "10000000", "API_RATE_PER_MINUTE": "10000000",
           "REDIS_URL": "", "HOST": "127.0.0.1"}
    servers: list[subprocess.Popen] = []
    proxy: subprocess.Popen | None = None
    try:
        ports = [free_port() for _ in range(processes)]
        for port in ports:
            servers.append(subprocess.Popen(
                [python, "-m", "bot.cli", "serve", "--no-telegram", "--port", str(port)], cwd=code_dir,
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        if not all(wait_healthy(f"http://127.0.0.1:{port}", servers) for port in ports):
            result.note = "did not start"
            return result
        base = f"http://127.0.0.1:{ports[0]}"
        if nginx is not None:
            listen = free_port()
            work = db.work / f"nginx-{uuid.uuid4().hex[:8]}"
            work.mkdir()
            proxy = subprocess.Popen([nginx, "-c", str(nginx_config(work, listen, ports, code_dir)), "-p", str(work)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            base = f"http://127.0.0.1:{listen}"
            if not wait_healthy(base, [proxy], 30):
                result.note = f"nginx did not start: {(work / 'error.log').read_text(errors='replace')[-300:]}"
                return result
        marks: dict[str, float] = {}

        def cpu() -> float:
            # nginx's CPU is read beside the servers' at the same two moments: the second reading's
            # difference is the counted seconds' share.
            if proxy is not None:
                now = tree_cpu(proxy.pid)
                result.proxy_cpu = now - marks.get("nginx", now)
                marks["nginx"] = now
            return sum(process_cpu(p.pid) for p in servers)

        run_loop(load(base, clients, seconds, result, cpu, client))
        result.stored = wait_stored(url, result.answered)
        result.rss_mb = max(peak_rss_mb(p.pid) for p in servers)
    finally:
        if proxy is not None:
            stop(proxy)
        for server in servers:
            stop(server)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", default="20,100")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--processes", default="1,2", help="1: one server; 2: two behind deploy/nginx.conf")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--baseline", default=BASELINE, help="git ref of the code to compare with, or none")
    parser.add_argument("--baseline-python", default=sys.executable,
                        help="the interpreter (of a venv from the baseline's lock files) that runs the baseline")
    parser.add_argument("--database-url", default=os.environ.get(
        "TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--questions", default="repeated",
                        help="repeated (the same conversations again and again), distinct (no question twice), "
                             "or both, comma-separated")
    parser.add_argument("--client", choices=("lean", "httpx"), default="lean",
                        help="the load generator's HTTP client (httpx costs more CPU than the server)")
    args = parser.parse_args()
    codes = [("this", "HEAD+", sys.executable)] + (
        [] if args.baseline == "none" else [(f"baseline {args.baseline}", args.baseline, args.baseline_python)])
    load_before = os.getloadavg()
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="http-load-") as work:
        dbs = [Database(kind, args.database_url, Path(work)) for kind in args.databases.split(",")]
        try:
            for processes in (int(p) for p in args.processes.split(",")):
                if processes > 1 and nginx_binary() is None:
                    print(f"… {processes} processes behind nginx: skipped, nginx is not installed (Debian: "
                          "apt-get install nginx-light)", file=sys.stderr, flush=True)
                for db in dbs:
                    for clients, questions in itertools.product((int(c) for c in args.clients.split(",")),
                                                                args.questions.split(",")):
                        for code, ref, python in codes:
                            with code_checkout(ref) as code_dir:
                                print(f"… {code}, {db.kind}, {processes} process(es), {clients} clients, "
                                      f"{questions} questions", file=sys.stderr, flush=True)
                                results.append(run_one(code, code_dir, db, clients, args.seconds, processes,
                                                       python, questions, args.client))
        finally:
            for db in dbs:
                db.drop()
    print(f"\n{time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, load average before "
          f"{load_before[0]:.1f}, after {os.getloadavg()[0]:.1f}; {args.seconds:g} s counted per row after "
          f"{WARM_UP:g} s of warm-up; the clients ({args.client}) run on the same cores\n")
    print("| " + " | ".join(HEADER) + " |")
    print("|" + "---|" * len(HEADER))
    for r in results:
        print("| " + " | ".join(r.cells()) + " |", flush=True)
    print("\ntarget (issue 20): PostgreSQL, 20 clients, one process: ≥ 400 msg/s, p99 ≤ 100 ms, 0 errors, "
          "records = messages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
