"""``signaldesk`` / ``python -m app``: the GUI by default, ``--self-test``, and subcommands."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from app import APP_NAME, __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="signaldesk",
        description=f"{APP_NAME}: a desktop analyst desk for market news. "
                    "Without a subcommand it opens the app.",
    )
    parser.add_argument("--version", action="version", version=f"{APP_NAME} {__version__}")
    parser.add_argument("--data-dir", type=Path, default=None, metavar="DIR",
                        help="where the database, settings and logs live "
                             "(default: the platform's app-data folder; env SIGNALDESK_DATA_DIR)")
    parser.add_argument("--debug", action="store_true",
                        help="log at DEBUG level (or set SIGNALDESK_LOG_LEVEL)")
    parser.add_argument("--redis", dest="redis_url", default=None, metavar="URL",
                        help="also publish every signal to Redis at URL (redis://host:port/db; same as "
                             "SIGNALDESK_REDIS_URL or [redis] url in config.toml); the desk keeps working "
                             "if Redis is away and catches up when it is back")
    parser.add_argument("--self-test", action="store_true",
                        help="start headless, analyze one headline end to end into a temporary "
                             "store, print a JSON summary and exit")
    # Hidden: the installer smoke test opens the desk offscreen and closes it as a user would.
    parser.add_argument("--quit-after", type=float, default=None, metavar="SECONDS", help=argparse.SUPPRESS)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    from app.commands import register_all

    register_all(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.redis_url:
        from engine.config import ConfigError
        from engine.redisbus.config import RedisConfig

        try:
            RedisConfig(url=args.redis_url)
        except ConfigError as exc:
            print(f"signaldesk: --redis: {exc}", file=sys.stderr)
            return 2
        # Through the environment so every engine this process builds (the GUI's on its own thread) sees it.
        os.environ["SIGNALDESK_REDIS_URL"] = args.redis_url
    if args.self_test:
        from app.selftest import run_self_test

        return run_self_test(args)
    if getattr(args, "func", None) is not None:
        return run_command(args)
    from app.gui import run_gui

    return run_gui(args)


def run_command(args: argparse.Namespace) -> int:
    """A subcommand, with one clear line instead of a traceback when the data folder or its
    database cannot be used (read-only folder, damaged or truncated database, full disk)."""
    import sqlite3

    from app.logging_setup import setup_logging
    from app.runtime import data_dir_from_args

    try:
        setup_logging(data_dir_from_args(args), args.debug)
        return int(args.func(args) or 0)
    except BrokenPipeError:  # e.g. `signaldesk models --json | head`
        sys.stderr.close()
        return 0
    except (sqlite3.DatabaseError, OSError) as exc:
        print(f"signaldesk {args.command}: {data_problem(args, exc)}", file=sys.stderr)
        return EXIT_DATA


EXIT_DATA = 3  # the data folder or its database cannot be used (see `signaldesk --self-test`)


def data_problem(args: argparse.Namespace, exc: BaseException) -> str:
    """One line: what is wrong with the data folder, and what to do (the self-test says more)."""
    from app.paths import resolve_data_dir
    from engine.datadir import check_data_dir

    hint = "`signaldesk --self-test` checks the data folder"
    try:
        health = check_data_dir(resolve_data_dir(getattr(args, "data_dir", None)))
    except OSError as again:
        return f"the data folder cannot be used ({again.strerror or again}); use --data-dir DIR; {hint}"
    if not health.ok:
        return f"{health.message}; {hint}"
    return f"{type(exc).__name__}: {exc}; {hint}"


if __name__ == "__main__":
    sys.exit(main())
