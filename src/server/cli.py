"""Command line: `calendar-integration serve` (the default)."""

from __future__ import annotations

import argparse
import logging
import sys

from server.app import serve
from server.bootstrap import bootstrap
from server.config import ConfigError, Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="calendar-integration", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("serve", help="serve gRPC, run the projections (default)")
    options = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if not settings.auth_tokens:
        print(
            "configuration error: CALSYNC_AUTH_TOKENS is empty; no caller could reach the service",
            file=sys.stderr,
        )
        return 2
    if options.command in (None, "serve"):
        serve(bootstrap(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
