"""Run oidc-rp's benchmarks and print a table: `make bench` (about 15-30 s on 2 cores).

Every number is CPU time of this process (``time.process_time``), and every benchmark
reports a ratio against a baseline measured in the same run, interleaved with it: the
machine is shared, so absolute numbers drift while ratios hold. Nothing is written to
disk except the OP's temporary config and log. See bench/README.md and docs/performance.md.

Exit status: 1 when the design rule "a warm login sends exactly token + userinfo, over
the pooled connection" is broken (deterministic); timings never fail the run.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from id_token_cpu import IDTokenResult, run_id_token_benchmark
from login_cpu import (
    LoginResult,
    RequestCount,
    bench_client,
    count_requests,
    profile_rp_logins,
    time_logins,
)
from web_login_cpu import WebLoginResult, run_web_login_benchmark, web_client

from support.node_op import NodeOP, free_port, start_node_op

TARGET_MS = 3.0
EXPECTED_WARM = ["POST /token", "GET /me"]


def _rule(title: str) -> None:
    print(f"\n{title}\n{'-' * len(title)}")


def print_id_token(results: list[IDTokenResult]) -> None:
    """Benchmark 1's table."""
    _rule("1. ID token validation, CPU per token (median of repeats)")
    print(f"{'alg':<7}{'ours µs':>10}{'bare µs':>10}{'ours-bare':>11}{'ratio':>8}  token")
    for r in results:
        c = r.comparison
        print(
            f"{r.alg:<7}{c.ours_us:>10.1f}{c.bare_us:>10.1f}{c.ours_us - c.bare_us:>11.1f}"
            f"{c.ratio:>8.2f}  {r.token_bytes} B, {c.repeats}x{c.iterations} runs"
        )
    print("ours = validate_id_token (OIDC Core §3.1.3.7, all checks incl. key choice, nonce,")
    print("       at_hash); bare = joserfc.jws.deserialize_compact with the key in hand.")


def print_login(r: LoginResult) -> None:
    """Benchmark 2's table."""
    _rule("2. RP CPU per complete login against node-oidc-provider (this process only)")
    verdict = "within" if r.warm_ms <= TARGET_MS else "ABOVE"
    rows = [
        ("cold: first login of the process", r.cold_ms, ""),
        ("  start_login (discovery)", r.cold_start_ms, ""),
        ("  finish_login (token, JWKS, userinfo)", r.cold_finish_ms, ""),
        ("first login of a 2nd RP (warm process)", r.new_rp_ms, "discovery + JWKS"),
        (f"warm login, median of {r.warm_logins}", r.warm_ms, f"{verdict} {TARGET_MS} ms target"),
        ("  start_login", r.warm_start_ms, ""),
        ("  finish_login (token + userinfo)", r.warm_finish_ms, ""),
        ("warm login, 90th percentile", r.warm_p90_ms, ""),
        ("bare httpx2 token + userinfo, median", r.bare_ms, "baseline"),
    ]
    for label, ms, note in rows:
        print(f"{label:<42}{ms:>8.2f} ms  {note}")
    print(f"{'RP / bare (median of per-login ratios)':<42}{r.ratio:>8.2f} x")
    print(f"{'RP adds on top of raw HTTP':<42}{r.warm_ms - r.bare_ms:>8.2f} ms")


def print_counts(counts: list[RequestCount]) -> bool:
    """Benchmark 4's table; True when every warm login kept the rule."""
    _rule("4. OP requests and new TCP connections per login (trace sink + audit hook)")
    ok = True
    for i, count in enumerate(counts):
        label = "cold" if i == 0 else f"warm {i}"
        good = i == 0 or (count.requests == EXPECTED_WARM and count.connections == 0)
        ok = ok and good
        mark = "" if i == 0 else ("ok" if good else "BROKEN")
        requests = ", ".join(count.requests)
        print(
            f"{label:<7} {len(count.requests)} req, {count.connections} conn  {mark:<6} {requests}"
        )
    print(f"rule: a warm login sends exactly {' + '.join(EXPECTED_WARM)} over pooled connections")
    print(f"      (no discovery, no JWKS refetch, no new client): {'KEPT' if ok else 'BROKEN'}")
    return ok


def print_web(r: WebLoginResult, library: LoginResult) -> None:
    """Benchmark 3's table."""
    _rule("3. Web app: server-thread CPU per login through uvicorn + Starlette + RP")
    rows = [
        ("cold: first login of the app", r.cold_ms, ""),
        (f"warm login, median of {r.warm_logins}", r.warm_ms, "3 requests to the app"),
        ("  GET /start-login", r.start_login_ms, ""),
        ("  GET /callback (token + userinfo)", r.callback_ms, ""),
        ("  GET / (logged-in page)", r.index_ms, ""),
        ("GET /healthz, median", r.healthz_ms, "baseline: framework floor"),
    ]
    for label, ms, note in rows:
        print(f"{label:<42}{ms:>8.2f} ms  {note}")
    print(f"{'login / 3 healthz (median per-login ratio)':<42}{r.ratio:>8.2f} x")
    print(f"{'web login / library login (section 2)':<42}{r.warm_ms / library.warm_ms:>8.2f} x")
    print(f"{'web layer adds (sessions, pages)':<42}{r.warm_ms - library.warm_ms:>8.2f} ms")


async def _benchmarks(op: NodeOP, web_port: int, tmp: Path, args: argparse.Namespace) -> bool:
    library = await time_logins(op, tmp, args.logins)
    print_login(library)
    web = await run_web_login_benchmark(op, web_port, tmp, warm_logins=args.web_logins)
    print_web(web, library)
    if args.profile:
        _rule("RP calls of warm logins, cProfile (CPU clock) by own time")
        print(await profile_rp_logins(op, tmp))
    # Last: it installs an audit hook for the rest of the process.
    return print_counts(await count_requests(op, tmp))


def main() -> int:
    """Run all benchmarks and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--logins", type=int, default=40, help="warm RP logins timed (40)")
    parser.add_argument("--web-logins", type=int, default=20, help="warm web logins (20)")
    parser.add_argument("--profile", action="store_true", help="also cProfile the RP calls")
    args = parser.parse_args()
    started = time.perf_counter()
    print(
        f"oidc-rp benchmarks  {datetime.datetime.now().isoformat(timespec='seconds')}  "
        f"Python {platform.python_version()}  {os.cpu_count()} CPUs  {platform.machine()}"
    )
    print_id_token(run_id_token_benchmark())
    with tempfile.TemporaryDirectory(prefix="oidc-rp-bench-") as tmp:
        web_port = free_port()
        op = start_node_op([bench_client(), web_client(web_port)], tmp_dir=Path(tmp))
        try:
            ok = asyncio.run(_benchmarks(op, web_port, Path(tmp), args))
        finally:
            op.stop()
    print(f"\ntotal {time.perf_counter() - started:.1f} s wall")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
