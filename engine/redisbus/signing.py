"""The desk key: workers sign each result (HMAC-SHA256), the desk stores only results it can verify.

Anyone who can write to the results stream could otherwise create signals, and from them trade
ideas. Redis ACLs limit who writes; the signature proves *which* writer: only a holder of the
desk key can produce a result the desk accepts.

Where the key comes from, first match wins:

1. ``hmac_key`` in ``[redis]`` settings, usually ``SIGNALDESK_REDIS_HMAC_KEY`` in the
   environment (workers on other machines; a systemd ``EnvironmentFile=`` with mode 0600);
2. ``<data dir>/redis-hmac.key`` (64 hex digits), made once by the desk with mode 0600.
   A key file that other users can read is refused, as ssh does.

A worker never makes a key: without one it refuses to start and says where to get it, since
results signed with a key of its own would all be dead-lettered at the desk.

What is signed: a version tag, the news entry id and the payload (which names its news
stream), so a signed payload cannot be replayed under another entry. ``kid`` (a short hash of the key, not
the key) travels with the signature, so a mismatch can say "signed with another key".
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
from pathlib import Path

from engine.config import ConfigError

KEY_FILE_NAME = "redis-hmac.key"
MIN_KEY_BYTES = 16
_CONTEXT = b"signaldesk-result-v1"


class KeyProblem(ConfigError):
    """No usable desk key; the message says how to provide one."""


def key_id(key: bytes) -> str:
    return hashlib.sha256(b"signaldesk-key-id\n" + key).hexdigest()[:12]


def sign(key: bytes, news_id: str, payload: str) -> str:
    message = b"\n".join((_CONTEXT, news_id.encode(), payload.encode()))
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def verify(key: bytes, news_id: str, payload: str, signature: str) -> bool:
    return hmac.compare_digest(sign(key, news_id, payload), signature)


def parse_key(text: str, where: str) -> bytes:
    value = text.strip()
    try:
        key = bytes.fromhex(value)
    except ValueError:
        raise KeyProblem(f"{where}: the desk key must be hex digits") from None
    if len(key) < MIN_KEY_BYTES:
        raise KeyProblem(f"{where}: the desk key must be at least {MIN_KEY_BYTES * 2} hex digits")
    return key


def key_file(data_dir: Path) -> Path:
    return Path(data_dir) / KEY_FILE_NAME


def desk_key(configured: str, data_dir: Path | None, *, create: bool) -> bytes:
    """The key from settings, else the data dir's key file (made when ``create``). Raises KeyProblem."""
    if configured:
        return parse_key(configured, "[redis] hmac_key / SIGNALDESK_REDIS_HMAC_KEY")
    if data_dir is None:
        raise KeyProblem("no desk key: set SIGNALDESK_REDIS_HMAC_KEY (the desk's key) for this process")
    path = key_file(data_dir)
    if not path.exists():
        if not create:
            raise KeyProblem(f"no desk key: set SIGNALDESK_REDIS_HMAC_KEY to the desk's key (the content of "
                             f"{KEY_FILE_NAME} in the desk's data folder) or copy that file to {path} (mode 0600)")
        _create(path)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise KeyProblem(f"{path} can be read by other users (mode {mode:04o}); run chmod 600 on it")
    return parse_key(path.read_text(encoding="ascii", errors="replace"), str(path))


def _create(path: Path) -> None:
    """Write a new random key atomically with mode 0600; a process racing us keeps the first one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, (secrets.token_hex(32) + "\n").encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)  # fails if another process made the key first: theirs stays
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
