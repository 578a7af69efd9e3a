"""The faithfulness report's own judgement (engine/evaluation/faithfulness.py): facts come from the
frozen set and the desk's own figures, and an entity or number outside them is counted, whatever
the checks said."""

from __future__ import annotations

import json

from engine.config import Config
from engine.engine import Engine
from engine.evaluation.faithfulness import DEFAULT_SET, facts_for, load_set, unlisted


def test_the_report_counts_what_the_set_does_not_list(tmp_path) -> None:
    rows = {r["id"]: r for r in load_set(DEFAULT_SET)}
    row = rows["F01"]  # Tesla recalls 2 million vehicles over Autopilot flaw
    related = {r["text"]: r for item in rows.values() for r in item["related"]}
    engine = Engine(Config(), tmp_path)
    try:
        engine.analyze_batch(list(related))
        breaker = engine.reasoning.breaker
        for _ in range(breaker.failure_threshold):
            breaker.record_failure()  # the evidence-based answer: no model call needed here
        x = engine.explain(row["headline"], chain=True, persist=False)
    finally:
        engine.close()
    facts = facts_for(row, related, x, x.cited)
    assert unlisted(x.signal, list(x.chain), facts) == ([], [])  # what the desk shows lists nothing new
    invented = dict(x.signal, rationale="Tesla recalls 2 million cars within 30 days, Musk says.",
                    entities=["Tesla", "Ford"])
    assert unlisted(invented, [], facts) == (["Ford", "Musk"], ["30"])
    # an ordinary word the headline capitalises is not a name; the US of an uncited item is
    assert unlisted(dict(x.signal, rationale="Autopilot flaw: the US regulator acts.", entities=[]), [],
                    facts_for(row, related, x, [])) == (["US"], [])
    assert json.dumps(facts.texts)  # plain data
