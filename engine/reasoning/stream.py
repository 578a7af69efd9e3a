"""Readable text from a JSON answer while it streams.

The model streams JSON (the grammar makes it); an analyst wants to watch the rationale and the
chain being written, not braces. :class:`TextStream` is fed the raw pieces and reports
``(field, text)`` for the string values of the fields it watches (``rationale``,
``chain.key_facts`` …), unescaped. It is display-only: what counts is the validated result.
"""

from __future__ import annotations

import json
from typing import Callable, Iterable

from engine.reasoning.schema import CHAIN_STEPS

DEFAULT_FIELDS = ("rationale", *(f"chain.{s}" for s, _ in CHAIN_STEPS))


class TextStream:
    def __init__(self, on_text: Callable[[str, str], None], fields: Iterable[str] = DEFAULT_FIELDS) -> None:
        self._on_text = on_text
        self._fields = set(fields)
        self._stack: list[list] = []  # [kind, key, expect_key] per open container
        self._in_string = False
        self._is_key = False
        self._escape = ""  # pending escape sequence, e.g. "\\u00e"
        self._buf: list[str] = []
        self._field = ""

    def _path(self) -> str:
        return ".".join(str(frame[1]) for frame in self._stack if frame[0] == "obj" and frame[1] is not None)

    def feed(self, piece: str) -> None:
        out: list[str] = []
        for ch in piece:
            if self._in_string:
                if self._escape:
                    self._escape += ch
                    if self._escape[1] != "u" or len(self._escape) == 6:
                        try:
                            decoded = json.loads(f'"{self._escape}"')
                        except ValueError:
                            decoded = ""
                        self._escape = ""
                        self._buf.append(decoded)
                        if not self._is_key and self._field:
                            out.append(decoded)
                    continue
                if ch == "\\":
                    self._escape = ch
                elif ch == '"':
                    self._in_string = False
                    if self._is_key and self._stack:
                        self._stack[-1][1] = "".join(self._buf)
                        self._stack[-1][2] = False
                    self._flush(out)
                else:
                    self._buf.append(ch)
                    if not self._is_key and self._field:
                        out.append(ch)
                continue
            if ch == '"':
                self._in_string, self._buf = True, []
                top = self._stack[-1] if self._stack else None
                self._is_key = bool(top and top[0] == "obj" and top[2])
                path = self._path()
                self._field = path if not self._is_key and path in self._fields else ""
            elif ch in "{[":
                self._stack.append(["obj" if ch == "{" else "arr", None, ch == "{"])
            elif ch in "}]":
                if self._stack:
                    self._stack.pop()
            elif ch == "," and self._stack and self._stack[-1][0] == "obj":
                self._stack[-1][1], self._stack[-1][2] = None, True
        self._flush(out)

    def _flush(self, out: list[str]) -> None:
        if out and self._field:
            self._on_text(self._field, "".join(out))
            out.clear()
