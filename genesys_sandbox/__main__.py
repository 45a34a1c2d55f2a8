"""Command line of the sandbox: ``genesys-sandbox`` / ``python -m genesys_sandbox``.

The sandbox is a development tool: its admin routes (``/_sandbox/...``: faults, ledger, reset) have no
authentication. Bound to an address other than loopback it says so on stderr and prints no secret.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import json
import os
import signal
import sys
import threading
from collections.abc import Generator, Sequence
from pathlib import Path
from types import FrameType

import uvicorn

from genesys_sandbox import seeds
from genesys_sandbox.app import create_app
from genesys_sandbox.config import SandboxConfig
from genesys_sandbox.faults import FaultConfig
from genesys_sandbox.server import base_url_of, bind_socket, uvicorn_config

#: Environment variable giving the default of ``--search-indexing-delay``.
SEARCH_DELAY_ENV = "GENESYS_SANDBOX_SEARCH_INDEXING_DELAY"


class _Server(uvicorn.Server):
    """uvicorn's server, exiting with status 0 on SIGTERM/SIGINT instead of re-raising the signal."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handle(sig: int, frame: FrameType | None) -> None:
            if self.should_exit and sig == signal.SIGINT:
                self.force_exit = True
            self.should_exit = True

        originals = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, original in originals.items():
                signal.signal(sig, original)


def _seconds(text: str) -> float:
    """A number of seconds from 0 to a day (``argparse`` type)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0.0 <= value <= 86_400.0:
        raise argparse.ArgumentTypeError(f"{text!r} is not from 0 to 86400 seconds")
    return value


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the command line."""
    defaults = SandboxConfig()
    parser = argparse.ArgumentParser(
        prog="genesys-sandbox",
        description="Local emulator of the Genesys Cloud API parts used by airflow-provider-genesys.",
    )
    add = parser.add_argument
    add("--host", default="127.0.0.1", help="interface to bind (default: %(default)s)")
    add("--port", type=int, default=8765, help="port to bind, 0 for a free one (default: %(default)s)")
    add("--client-id", default=defaults.client_id, help="accepted OAuth client id (default: %(default)s)")
    add("--client-secret", default=defaults.client_secret, help="accepted OAuth client secret")
    add("--token-ttl", type=int, default=defaults.token_ttl_seconds, help="token lifetime in seconds")
    add("--quota", type=int, default=defaults.quota_per_minute, help="API requests per token per minute")
    add("--token-rate", type=int, default=defaults.token_rate_per_minute, help="token requests per minute")
    add("--latency-ms", type=int, default=0, help="latency added to every API request")
    add("--token-latency-ms", type=int, default=0, help="latency added to every token request")
    add("--error-rate", type=float, default=0.0, help="fraction of API requests answered --error-status")
    add("--error-status", type=int, default=503, help="status of injected errors (default: %(default)s)")
    add("--rate-429", type=float, default=0.0, help="fraction of API requests answered 429")
    add("--drop-after-commit-rate", type=float, default=0.0, help="fraction of creates dropped after commit")
    add("--seed", type=int, default=None, help="seed of the random faults")
    add("--acd-delay", type=float, default=defaults.acd_delay_seconds, help="seconds until a record is assigned")
    add("--processing-ms", type=int, default=defaults.processing_ms, help="time a create stays in flight")
    add(
        "--bulk-job-seconds",
        type=float,
        default=defaults.bulk_job_process_seconds,
        help="time a workitem bulk add job stays Processing (default: %(default)s)",
    )
    add(
        "--search-indexing-delay",
        type=_seconds,
        default=os.environ.get(SEARCH_DELAY_ENV, "0"),
        help="seconds before a new callback or email is found by the participant-attribute search "
        f"(default: ${SEARCH_DELAY_ENV}, else 0)",
    )
    add("--crm-mode", choices=("sync", "async"), default=defaults.crm_mode, help="CRM receiver mode")
    add("--crm-async-delay", type=float, default=defaults.crm_async_delay_seconds, help="async CRM delay (s)")
    add("--crm-failure-rate", type=float, default=defaults.crm_failure_rate, help="CRM failure fraction")
    add("--ready-file", type=Path, default=None, help="file to write the base URL to once listening")
    add("--quiet", action="store_true", help="print nothing on start")
    return parser


def config_from_args(args: argparse.Namespace) -> SandboxConfig:
    """Return the :class:`SandboxConfig` described by parsed command line ``args``."""
    faults = FaultConfig(
        latency_ms=args.latency_ms,
        token_latency_ms=args.token_latency_ms,
        error_rate=args.error_rate,
        error_status=args.error_status,
        rate_429=args.rate_429,
        drop_after_commit_rate=args.drop_after_commit_rate,
        seed=args.seed,
        search_indexing_delay=args.search_indexing_delay,
    )
    return SandboxConfig(
        client_id=args.client_id,
        client_secret=args.client_secret,
        token_ttl_seconds=args.token_ttl,
        quota_per_minute=args.quota,
        token_rate_per_minute=args.token_rate,
        acd_delay_seconds=args.acd_delay,
        processing_ms=args.processing_ms,
        bulk_job_process_seconds=args.bulk_job_seconds,
        faults=faults,
        crm_mode=args.crm_mode,
        crm_async_delay_seconds=args.crm_async_delay,
        crm_failure_rate=args.crm_failure_rate,
    )


#: What the banner shows instead of the client secret when the sandbox listens beyond loopback.
HIDDEN_SECRET = "<the --client-secret value>"


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or a name) only accepts connections from this machine."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host.strip().lower() == "localhost"


def public_warning(host: str) -> str:
    """What stderr says when the sandbox listens on ``host`` beyond loopback."""
    return (
        f"WARNING: genesys-sandbox is listening on {host}, beyond loopback: anyone who can reach this port can use "
        "its unauthenticated admin routes (/_sandbox/: faults, ledger, reset) and its OAuth client. It is a "
        "development tool; bind it to 127.0.0.1 unless you need otherwise. The client secret is not printed."
    )


def connection_uri_json(base_url: str, config: SandboxConfig, *, show_secret: bool = True) -> str:
    """Return the JSON of an Airflow ``genesys_cloud`` connection pointing at the sandbox."""
    return json.dumps(
        {
            "conn_type": "genesys_cloud",
            "login": config.client_id,
            "password": config.client_secret if show_secret else HIDDEN_SECRET,
            "host": base_url,
            "extra": {"requests_per_minute": config.quota_per_minute},
        }
    )


def banner(base_url: str, config: SandboxConfig, *, show_secret: bool = True) -> str:
    """Return the text printed when the sandbox is listening (without the client secret unless ``show_secret``)."""
    secret = config.client_secret if show_secret else HIDDEN_SECRET
    connection = connection_uri_json(base_url, config, show_secret=show_secret)
    summary = seeds.seed_summary()
    lines = [f"Genesys Cloud sandbox listening on {base_url}", "", "Queues:"]
    lines += [f"  {name:<16} {queue_id}" for name, queue_id in summary["queues"].items()]
    lines.append("Skills:")
    lines += [f"  {name:<16} {skill['id']} ({skill['state']})" for name, skill in summary["skills"].items()]
    lines.append("Worktypes:")
    lines += [f"  {name:<16} {worktype_id}" for name, worktype_id in summary["worktypes"].items()]
    lines += [
        "",
        f"OAuth client: {config.client_id} / {secret}",
        f"Admin (no authentication): {base_url}/_sandbox/ledger  {base_url}/_sandbox/faults  {base_url}/_sandbox/docs",
        "",
        "Airflow connection:",
        f"  export AIRFLOW_CONN_GENESYS_CLOUD_DEFAULT='{connection}'",
    ]
    return "\n".join(lines)


def _write_ready_file(path: Path, base_url: str) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(base_url + "\n")
    os.replace(temporary, path)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the sandbox until SIGTERM or SIGINT; return the exit status."""
    args = build_parser().parse_args(argv)
    config = config_from_args(args)
    loopback = is_loopback(args.host)
    if not loopback:
        print(public_warning(args.host), file=sys.stderr, flush=True)
    app = create_app(config)
    try:
        sock = bind_socket(args.host, args.port)
    except OSError as exc:
        print(f"genesys-sandbox: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 2
    port = sock.getsockname()[1]
    base_url = base_url_of(args.host, port)
    uv_config = uvicorn_config(app, args.host, port)
    server = _Server(uv_config)

    async def serve() -> None:
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started and not task.done():
            await asyncio.sleep(0.01)
        if server.started:
            if not args.quiet:
                print(banner(base_url, config, show_secret=loopback), flush=True)
            if args.ready_file is not None:
                _write_ready_file(args.ready_file, base_url)
        await task

    loop_factory = uv_config.get_loop_factory() or asyncio.new_event_loop
    loop = loop_factory()
    try:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(serve())
    finally:
        loop.close()
        sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
