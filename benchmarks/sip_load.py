#!/usr/bin/env python3
"""Benchmark: inbound SIP calls through a queue to agents' phones, at rising call rates.

Sets up, on 127.0.0.1 and random free ports:

* **rtpengine** (userspace, ``--port-min/--port-max`` wide enough for about 6 ports per concurrent
  call, ``--rtp-ports``);
* the **live server** as a subprocess — ``centrale serve --telephony FILE`` — on a fresh SQLite
  database seeded beforehand (in this process, through the writer, as the tests do) with one queue
  and ``--agents`` agents, all logged in and ready; each agent has a SIP account in the telephony
  file;
* the agents' **phones**: ``--uas`` sipp UAS processes (sipp's built-in ``uas``: 180, 200, waits for
  the BYE); every agent's SIP user registers — real REGISTERs with digest authentication, one sipp
  REGISTER scenario with an injection file of users, passwords and the UAS port — so many agents
  ring the same few sipp processes;
* the **callers**: per step, one sipp UAC at the step's rate for ``--seconds`` (``-r``, ``-m``), each
  call answered by the queue (rtd 1: *time to answer*), re-INVITEd when an agent's phone is bridged
  (rtd 2: *time to agent*), holding ``--talk`` seconds, then hanging up. No RTP is sent by the sipp
  peers (the load is SIP signalling, rtpengine's NG commands and media anchoring; music on hold is
  played by rtpengine while a call waits).

For each rate it reports sipp's counts (attempted, successful, failed calls), time to answer and
time to agent (p50/p90/p99/max from sipp's per-call ``-trace_rtt`` file), the most concurrent calls
(sipp's ``CurrentCall`` sampled every second), and the CPU (1.0 = one core) and memory of the server
and of rtpengine during the step (from ``/proc``). The steps run one after the other, each drained
before the next begins. With ``--py-spy FILE`` the server is profiled during the last step.

Everything it starts (rtpengine, the server, every sipp) is in a process group of its own, killed
on exit — also on an error, Ctrl-C or SIGTERM; the children get SIGTERM if this process dies.

Run: ``PYTHONPATH=src .venv/bin/python benchmarks/sip_load.py [--quick]`` (``--quick``: 10 and 20
calls/s for 10 s, 3 s of talk, 300 agents — under a minute). Full size (the default): 25, 50, 100
and 150 calls/s for 60 s each with 20 s of talk (≥ 2,000 concurrent calls from 100/s on) and 3,400
agents. Target on 2 cores with sipp beside it: ≥ 100 new calls/s for 60 s with 0 failed calls and ≥
2,000 concurrent calls.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import (
    CLI,
    SetupError,
    _die_with_parent,
    cpu_delta,
    free_port,
    machine,
    percentile,
    proc_stats,
    say,
    sigterm_as_interrupt,
)

SCENARIOS = Path(__file__).resolve().parent / "sip_load_scenarios"
NUMBER = "5000"
QUEUE = "load"
PASSWORD = "load-agent-secret"


class Procs:
    """Every process the benchmark starts, each in its own session; `close()` kills them all."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, args: list[str], log: Path, **kwargs: Any) -> subprocess.Popen[bytes]:
        with log.open("ab") as out:
            proc = subprocess.Popen(
                args,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=_die_with_parent,
                **kwargs,
            )
        self.procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, wait: float = 10) -> None:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)
            try:
                proc.wait(wait)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)

    def close(self) -> None:
        for proc in reversed(self.procs):
            with contextlib.suppress(Exception):
                self.stop(proc, signal.SIGINT if proc.args[:3] == CLI[:3] else signal.SIGTERM)


def _port_block(span: int, start: int) -> int:
    """`span` consecutive UDP ports from `start` nobody holds now (rtpengine's media range)."""
    import socket

    for base in range(start, 65000 - span, 1000):
        free = True
        for port in range(base, base + span, 97):  # a sample: rtpengine binds them call by call
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    free = False
                    break
        if free:
            return base
    raise SetupError(f"no free block of {span} UDP ports from {start}")


def _wait_ng(port: int, proc: subprocess.Popen[bytes], timeout: float) -> None:
    from centrale.telephony.ng import NgClient, NgError

    async def ping() -> bool:
        client = NgClient("127.0.0.1", port, timeout=1.0)
        await client.connect()
        try:
            await client.ping()
            return True
        except NgError:
            return False
        finally:
            client.close()

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SetupError(f"rtpengine exited with code {proc.returncode}")
        if asyncio.run(ping()):
            return
        time.sleep(0.2)
    raise SetupError("rtpengine did not answer NG pings")


def _seed(database: str, agents: list[str]) -> None:
    """One account, one queue, the agents logged in and ready — as events in the server's log."""
    from centrale.core.config import Account, AgentConfig, QueueConfig
    from centrale.core.events import AccountConfigured, AgentAdded, AgentLoggedIn, QueueConfigured
    from centrale.core.expressions import parse
    from centrale.server.root import build
    from centrale.server.settings import ServerSettings

    async def run() -> None:
        services = build(ServerSettings(database=database, webhooks=False))
        await services.start()
        try:
            w = services.writer
            await w.submit(AccountConfigured(Account("load", "Load")))
            requirement = parse(f"{QUEUE} >= 1", known_skills=frozenset({QUEUE}))
            await w.submit(
                QueueConfigured(QueueConfig(QUEUE, "load", "voice", requirement, offer_timeout=15))
            )
            for chunk in range(0, len(agents), 200):
                batch = agents[chunk : chunk + 200]
                await asyncio.gather(
                    *(w.submit(AgentAdded(AgentConfig(a, "load", {QUEUE: 1}))) for a in batch)
                )
                await asyncio.gather(*(w.submit(AgentLoggedIn(a, ready=True)) for a in batch))
        finally:
            await services.stop()

    asyncio.run(run())


def _telephony_file(path: Path, sip_port: int, ng_port: int, agents: list[str]) -> None:
    import yaml

    data = {
        "sip_host": "127.0.0.1",
        "sip_port": sip_port,
        "rtpengine": f"127.0.0.1:{ng_port}",
        "numbers": {NUMBER: QUEUE},
        "accounts": [{"user": a, "password": PASSWORD, "agent": a} for a in agents],
        "ng_timeout": 5.0,
        # every peer is on this machine: the flood limits' fast path (exempt), not their refusals
        "limits": {"exempt": ["127.0.0.0/8"]},
    }
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def _sipp(target: str, scenario: list[str], port: int, log: Path, extra: list[str]) -> list[str]:
    return [
        "sipp", target, *scenario, "-i", "127.0.0.1", "-p", str(port),
        "-mi", "127.0.0.1", "-mp", str(free_port()),
        "-nostdin", "-trace_err", "-error_file", f"{log}.err",
        "-trace_stat", "-stf", f"{log}.csv", "-fd", "1",
        *extra,
    ]  # fmt: skip


def _csv_rows(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(newline="") as f:
        return list(csv.DictReader(f, delimiter=";"))


def _rtts(folder: Path, pid: int) -> dict[str, list[float]]:
    """sipp's -trace_rtt file: response times in seconds per rtd number."""
    out: dict[str, list[float]] = {}
    for path in folder.glob(f"*_{pid}_rtt.csv"):
        for row in _csv_rows(path):
            with contextlib.suppress(KeyError, ValueError):
                out.setdefault(row["rtd_no"], []).append(float(row["response_time_ms"]) / 1000)
    return out


def _summary(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"count": 0}
    return {
        "count": len(values),
        "p50_ms": round(percentile(values, 50) * 1000, 1),
        "p90_ms": round(percentile(values, 90) * 1000, 1),
        "p99_ms": round(percentile(values, 99) * 1000, 1),
        "max_ms": round(max(values) * 1000, 1),
    }


def _refusals(errors: Path) -> int:
    """Calls sipp aborted because the INVITE was answered 503 (from its -trace_err file)."""
    if not errors.exists():
        return 0
    aborts = errors.read_text(errors="replace").split("Aborting call on unexpected message")[1:]
    return sum("SIP/2.0 503" in abort[:300] for abort in aborts)


def _register(procs: Procs, tmp: Path, sip_port: int, agents: list[str], uas_ports: list[int]) -> None:
    inf = tmp / "users.csv"
    # sipp does not expand [field…] inside [authentication …]; the whole keyword goes in the file.
    lines = ["SEQUENTIAL"] + [
        f"{a};[authentication username={a} password={PASSWORD}];{uas_ports[i % len(uas_ports)]}"
        for i, a in enumerate(agents)
    ]
    inf.write_text("\n".join(lines) + "\n")
    log = tmp / "register"
    args = _sipp(
        f"127.0.0.1:{sip_port}",
        ["-sf", str(SCENARIOS / "register.xml"), "-inf", str(inf)],
        free_port(),
        log,
        ["-m", str(len(agents)), "-r", "200", "-l", "400", "-timeout", "120s", "-timeout_error"],
    )
    proc = procs.start(args, tmp / "register.out")
    try:
        proc.wait(180)
    except subprocess.TimeoutExpired:
        raise SetupError("the agents' phones did not register within 180 s") from None
    rows = _csv_rows(Path(f"{log}.csv"))
    ok = int(rows[-1]["SuccessfulCall(C)"]) if rows else 0
    if proc.returncode != 0 or ok != len(agents):
        raise SetupError(
            f"{ok} of {len(agents)} phones registered (sipp exit {proc.returncode}); see {log}.err"
        )


def _step(
    procs: Procs, tmp: Path, sip_port: int, rate: int, seconds: int, talk: float, pids: dict[str, int]
) -> dict[str, Any]:
    """One rate: sipp callers for `seconds`, drained; counts, timings, concurrency, CPU and memory."""
    calls = rate * seconds
    log = tmp / f"caller-{rate}"
    args = _sipp(
        f"127.0.0.1:{sip_port}",
        ["-sf", str(SCENARIOS / "caller.xml"), "-s", NUMBER],
        free_port(),
        log,
        [
            "-r", str(rate), "-m", str(calls), "-l", str(max(100, int(rate * (talk + 30)))),
            "-d", str(int(talk * 1000)), "-timeout", f"{seconds + talk + 90:.0f}s",
            "-trace_rtt", "-rtt_freq", "200", "-max_recv_loops", "10000", "-max_sched_loops", "10000",
        ],
    )  # fmt: skip
    before = {name: proc_stats(pid) for name, pid in pids.items()}
    started = time.monotonic()
    proc = procs.start(args, tmp / f"caller-{rate}.out", cwd=tmp)
    peak_rss = dict.fromkeys(pids, 0.0)
    while proc.poll() is None:
        time.sleep(1)
        for name, pid in pids.items():
            peak_rss[name] = max(peak_rss[name], proc_stats(pid)["rss_mb"])
        if time.monotonic() - started > seconds + talk + 120:
            procs.stop(proc)
            break
    elapsed = time.monotonic() - started
    after = {name: proc_stats(pid) for name, pid in pids.items()}
    rows = _csv_rows(Path(f"{log}.csv"))
    last = rows[-1] if rows else {}
    rtts = _rtts(tmp, proc.pid)

    def count(key: str) -> int:
        try:
            return int(last.get(key, "0"))
        except ValueError:
            return 0

    result: dict[str, Any] = {
        "rate_per_s": rate,
        "seconds": seconds,
        "talk_s": talk,
        "attempted": count("TotalCallCreated"),
        "successful": count("SuccessfulCall(C)"),
        "failed": count("FailedCall(C)"),
        # of the failed: INVITEs the service shed with 503 (overload, limits.max_calls_in_setup)
        "refused_503": _refusals(Path(f"{log}.err")),
        "retransmissions": count("Retransmissions(C)"),
        "sipp_exit": proc.returncode,
        "max_concurrent_calls": max((int(r.get("CurrentCall", "0") or 0) for r in rows), default=0),
        "time_to_answer": _summary(rtts.get("1", [])),
        "time_to_agent": _summary(rtts.get("2", [])),
        "elapsed_s": round(elapsed, 1),
    }
    for name in pids:
        usage = cpu_delta(before[name], after[name], elapsed)
        result[name] = {
            "cpu": usage["cpu_utilisation"],
            "cpu_seconds": usage["cpu_seconds"],
            "rss_mb_max": peak_rss[name],
        }
    return result


def run(args: argparse.Namespace) -> dict[str, Any]:
    procs = Procs()
    tmp = Path(tempfile.mkdtemp(prefix="centrale-sip-load-"))
    try:
        agents = [f"a{i:05d}" for i in range(args.agents)]
        ng_port, sip_port = free_port(), free_port()
        span = max(2000, args.agents * 6 + 600)
        rtp_from = _port_block(span, args.rtp_ports)
        say(f"rtpengine: NG {ng_port}, media ports {rtp_from}-{rtp_from + span - 1}")
        rtpengine = procs.start(
            [
                "rtpengine", "--config-file=none", "--foreground", "--log-stderr", "--table=-1",
                "--interface=127.0.0.1", f"--listen-ng=127.0.0.1:{ng_port}",
                f"--port-min={rtp_from}", f"--port-max={rtp_from + span - 1}",
                f"--listen-cli=127.0.0.1:{free_port()}", "--delete-delay=0", "--log-level=4",
                "--num-threads=2",
            ],
            tmp / "rtpengine.log",
        )  # fmt: skip
        _wait_ng(ng_port, rtpengine, 15)
        database = str(tmp / "centrale.db")
        say(f"seeding {len(agents)} agents (logged in, ready)")
        _seed(database, agents)
        telephony = tmp / "telephony.yaml"
        _telephony_file(telephony, sip_port, ng_port, agents)
        http = free_port()
        env = dict(os.environ, CENTRALE_LOG_LEVEL="WARNING")
        server = procs.start(
            [*CLI, "serve", "--database", database, "--port", str(http), "--telephony", str(telephony)],
            tmp / "server.log",
            env=env,
        )
        import httpx

        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{http}/api/health", timeout=2).status_code == 200:
                    break
            if server.poll() is not None or time.monotonic() > deadline:
                tail = (tmp / "server.log").read_text(errors="replace")[-2000:]
                raise SetupError(f"the server did not start (exit {server.poll()}):\n{tail}")
            time.sleep(0.2)
        uas_ports = [free_port() for _ in range(args.uas)]
        for i, port in enumerate(uas_ports):
            procs.start(
                _sipp(
                    f"127.0.0.1:{sip_port}",
                    ["-sn", "uas"],
                    port,
                    tmp / f"uas-{i}",
                    ["-max_recv_loops", "10000"],
                ),
                tmp / f"uas-{i}.out",
            )
        time.sleep(0.5)
        say(f"registering {len(agents)} phones on {len(uas_ports)} sipp UAS")
        _register(procs, tmp, sip_port, agents, uas_ports)
        pids = {"server": server.pid, "rtpengine": rtpengine.pid}
        idle = {name: proc_stats(pid)["rss_mb"] for name, pid in pids.items()}
        steps = []
        spy: subprocess.Popen[bytes] | None = None
        for i, rate in enumerate(args.rates):
            if args.py_spy and i == len(args.rates) - 1:
                spy_cmd = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
                spy = procs.start(
                    [spy_cmd, "record", "--gil", "-p", str(server.pid), "-o", args.py_spy, "-f", "raw",
                     "-r", "100", "-d", str(int(args.seconds + args.talk + 5))],
                    tmp / "py-spy.out",
                )  # fmt: skip
            say(f"step: {rate} calls/s for {args.seconds} s (talk {args.talk:g} s)")
            step = _step(procs, tmp, sip_port, rate, args.seconds, args.talk, pids)
            say(
                f"  {step['successful']}/{step['attempted']} ok, {step['failed']} failed "
                f"({step['refused_503']} shed with 503), "
                f"{step['max_concurrent_calls']} concurrent, server cpu {step['server']['cpu']}"
            )
            steps.append(step)
            if server.poll() is not None:
                raise SetupError(f"the server exited during the {rate}/s step")
            time.sleep(2)  # let the last BYEs and rtpengine deletes settle
        if spy is not None:
            spy.wait(60)
        return {
            "benchmark": "sip_load",
            "command": " ".join(["benchmarks/sip_load.py", *sys.argv[1:]]),
            "agents": len(agents),
            "uas_processes": len(uas_ports),
            "idle_rss_mb": idle,
            "steps": steps,
            "machine": machine(),
        }
    finally:
        procs.close()
        if args.keep:
            say(f"logs kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[1])
    parser.add_argument("--quick", action="store_true", help="10 and 20 calls/s for 10 s: under a minute")
    parser.add_argument("--rates", type=lambda s: [int(x) for x in s.split(",")], default=None)
    parser.add_argument("--seconds", type=int, default=None, help="per step (default 60)")
    parser.add_argument("--talk", type=float, default=None, help="seconds each call stays up (default 20)")
    parser.add_argument("--agents", type=int, default=None, help="default 3,400 (300 with --quick)")
    parser.add_argument("--uas", type=int, default=2, help="sipp UAS processes playing the phones")
    parser.add_argument("--rtp-ports", type=int, default=10000, help="rtpengine's media ports start here")
    parser.add_argument("--py-spy", default=None, metavar="FILE", help="profile the server in the last step")
    parser.add_argument("--keep", action="store_true", help="keep the logs (the folder is printed)")
    args = parser.parse_args()
    quick = args.quick
    args.rates = args.rates or ([10, 20] if quick else [25, 50, 100, 150])
    args.seconds = args.seconds or (10 if quick else 60)
    args.talk = args.talk if args.talk is not None else (3.0 if quick else 20.0)
    args.agents = args.agents or (300 if quick else 3400)
    missing = [tool for tool in ("sipp", "rtpengine") if shutil.which(tool) is None]
    if missing:
        print(
            f"error: {' and '.join(missing)} not found (apt: sip-tester, rtpengine-daemon)", file=sys.stderr
        )
        sys.exit(2)
    sigterm_as_interrupt()
    try:
        out = run(args)
    except SetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("interrupted; everything started was stopped", file=sys.stderr)
        sys.exit(130)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
