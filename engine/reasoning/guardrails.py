"""Guardrails for untrusted text in prompts (seed 004).

News headlines, feed items and notes are data, never instructions. Every untrusted piece of
text goes into the prompt

* normalised (NFKC, so look-alike characters cannot spell our markers), with control and
  format characters (zero-width, bidi overrides) removed and whitespace collapsed;
* with ``<`` and ``>`` replaced by look-alike quotation marks. llama-cpp-python tokenises chat
  prompts with special tokens enabled, so a headline containing ``<|im_end|>`` or
  ``<start_of_turn>`` would otherwise become a real turn boundary. Every special token of the
  shipped models contains an angle bracket, and so do our markers, which makes both
  impossible to forge from inside the data;
* cut to a length limit;
* between ``<<<DATA nonce>>>`` and ``<<<END DATA nonce>>>`` markers with a fresh random nonce
  per call.

:func:`check_prompt` verifies all of that on the messages actually sent, and the caller refuses
to generate from a prompt that fails it.

What the model writes is advice-only data: it is parsed against the J6 schema
(:mod:`engine.reasoning.schema`) and nothing in this package can reach risk limits, sizes or
idea states (no import of the risk or idea modules, no SQL on their tables; a test checks).

An *escape* is any of: (E1) text that is not schema-valid J6 JSON reaching a caller; (E2) a
direction or other field value outside the schema; (E3) a cited id that was not retrieved;
(E4) any change to risk limits, sizes or idea states; (E5) a broken delimiter: an untrusted
segment containing a marker, an angle bracket or a special token, or markers that do not
pair up; (E6) a BUY/SELL when nothing relevant was retrieved.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass

OPEN, CLOSE = "<<<DATA {nonce}>>>", "<<<END DATA {nonce}>>>"
_MARKER = re.compile(r"<<<(END )?DATA ([0-9a-f]+)>>>")
_ANGLE = str.maketrans({"<": "\u2039", ">": "\u203a"})
_SPACE = re.compile(r"\s+")


def new_nonce() -> str:
    return secrets.token_hex(6)


def sanitize_untrusted(text: str, limit: int) -> str:
    """Untrusted text made safe to quote: see the module docstring for each step and why."""
    text = unicodedata.normalize("NFKC", str(text))
    kept = []
    for ch in text:
        cat = unicodedata.category(ch)
        if ch in "\t\n\r" or cat in ("Zl", "Zp"):
            kept.append(" ")
        elif cat in ("Cc", "Cf", "Cs", "Co", "Cn"):
            continue  # control, zero-width/bidi format, surrogate, private-use, unassigned
        else:
            kept.append(ch)
    text = _SPACE.sub(" ", "".join(kept).translate(_ANGLE)).strip()
    if len(text) > limit:
        text = text[: max(0, limit - 1)].rstrip() + "\u2026"
    return text


def wrap_untrusted(lines: list[str], nonce: str) -> str:
    """Already-sanitised lines between the markers of this call."""
    return "\n".join([OPEN.format(nonce=nonce), *lines, CLOSE.format(nonce=nonce)])


@dataclass(frozen=True)
class PromptCheck:
    ok: bool
    problems: tuple[str, ...]
    segments: tuple[str, ...]  # the untrusted segments found between markers


def untrusted_segments(text: str, nonce: str) -> tuple[list[str], list[str]]:
    """(segments, problems): the text between each marker pair of ``nonce``."""
    problems: list[str] = []
    segments: list[str] = []
    depth_open: int | None = None
    for match in _MARKER.finditer(text):
        is_end, found = bool(match.group(1)), match.group(2)
        if found != nonce:
            problems.append(f"marker with a foreign nonce {found!r}")
            continue
        if not is_end:
            if depth_open is not None:
                problems.append("an opening marker inside an untrusted segment")
            depth_open = match.end()
        else:
            if depth_open is None:
                problems.append("a closing marker without an opening one")
                continue
            segments.append(text[depth_open:match.start()])
            depth_open = None
    if depth_open is not None:
        problems.append("an untrusted segment is never closed")
    return segments, problems


def check_prompt(messages: list[dict], nonce: str, expected_segments: int) -> PromptCheck:
    """E5: markers pair up, exactly as many segments as we wrote, nothing forged inside them."""
    problems: list[str] = []
    segments: list[str] = []
    for i, message in enumerate(messages):
        content = str(message.get("content", ""))
        if message.get("role") != "user":
            if _MARKER.search(content.replace(OPEN.format(nonce=nonce), "").replace(CLOSE.format(nonce=nonce), "")):
                problems.append(f"message {i} ({message.get('role')}) carries a foreign marker")
            continue
        found, trouble = untrusted_segments(content, nonce)
        segments.extend(found)
        problems.extend(f"message {i}: {t}" for t in trouble)
    if len(segments) != expected_segments:
        problems.append(f"expected {expected_segments} untrusted segment(s), found {len(segments)}")
    for seg in segments:
        if "<" in seg or ">" in seg:
            problems.append("an angle bracket inside an untrusted segment")
        if any(unicodedata.category(ch) in ("Cc", "Cf") and ch != "\n" for ch in seg):
            problems.append("a control or format character inside an untrusted segment")
    return PromptCheck(not problems, tuple(problems), tuple(segments))
