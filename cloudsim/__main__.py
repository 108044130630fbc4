"""Command line: `python -m cloudsim --port 8800 --state var/cloudsim.sqlite3 --seed seed.yaml`."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from pathlib import Path

from cloudsim.app import CloudSim
from cloudsim.knobs import Knobs
from cloudsim.seed import load_seed
from cloudsim.server import CloudSimHTTPServer


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(prog="cloudsim", description=__doc__)
    parser.add_argument("--host", default=env("CLOUDSIM_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(env("CLOUDSIM_PORT", "8800")))
    parser.add_argument("--state", default=env("CLOUDSIM_STATE", "var/cloudsim.sqlite3"),
                        help="SQLite file; kept across restarts")  # fmt: skip
    parser.add_argument("--seed", default=env("CLOUDSIM_SEED", ""), help="seed YAML")
    parser.add_argument("--build-time", type=float,
                        default=float(env("CLOUDSIM_BUILD_TIME", "2.0")),
                        help="seconds a server stays in BUILD")  # fmt: skip
    parser.add_argument("--delete-time", type=float,
                        default=float(env("CLOUDSIM_DELETE_TIME", "0")),
                        help="seconds a deleted server lingers in task_state deleting")  # fmt: skip
    parser.add_argument("--action-time", type=float,
                        default=float(env("CLOUDSIM_ACTION_TIME", "0")),
                        help="seconds stop/start/reboot take")  # fmt: skip
    parser.add_argument("--volume-time", type=float,
                        default=float(env("CLOUDSIM_VOLUME_TIME", "0.5")),
                        help="seconds each volume transition takes")  # fmt: skip
    parser.add_argument("--latency", type=float, default=float(env("CLOUDSIM_LATENCY", "0")),
                        help="seconds added to every API call")  # fmt: skip
    parser.add_argument("--public-url", default=env("CLOUDSIM_PUBLIC_URL", ""),
                        help="URL put in the catalog (default: from the Host header)")  # fmt: skip
    parser.add_argument("--verbose", action="store_true",
                        default=env("CLOUDSIM_VERBOSE", "") not in ("", "0"))  # fmt: skip
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    if args.state != ":memory:":
        Path(args.state).parent.mkdir(parents=True, exist_ok=True)
    knobs = Knobs(
        build_time=args.build_time,
        delete_time=args.delete_time,
        action_time=args.action_time,
        volume_time=args.volume_time,
    )
    if args.latency:
        knobs.latency["*"] = args.latency
    sim = CloudSim(args.state, load_seed(args.seed), knobs)
    httpd = CloudSimHTTPServer((args.host, args.port), sim, args.public_url)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    host, port = httpd.server_address[:2]
    print(f"cloudsim listening on http://{host}:{port} regions={sim.regions}", flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()
        sim.store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
