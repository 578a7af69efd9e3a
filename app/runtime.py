"""Building an engine from parsed CLI arguments, shared by the GUI, self-test and subcommands."""

from __future__ import annotations

import argparse
from pathlib import Path

from app.paths import resolve_data_dir
from engine.config import load_config
from engine.engine import Engine


def data_dir_from_args(args: argparse.Namespace) -> Path:
    return resolve_data_dir(getattr(args, "data_dir", None))


def build_engine(args: argparse.Namespace) -> Engine:
    data_dir = data_dir_from_args(args)
    return Engine(load_config(data_dir), data_dir)
