"""Who is acting, for audit trails (idea decisions, analyst verdicts and notes)."""

from __future__ import annotations

import getpass


def current_user(explicit: str | None = None) -> str:
    """``explicit`` when given, else the OS user name; "analyst" where the OS has none (some containers)."""
    if explicit:
        return explicit
    try:
        return getpass.getuser()
    except Exception:  # getpass raises various errors without a passwd entry; the audit still needs a name
        return "analyst"
