"""Trade ideas: proposed from signals, routed by regime, sized, reviewed by a person.

``IdeaBook`` is the facade; see :mod:`engine.ideas.book`. Nothing here ever places an order.
"""

from engine.ideas.blend import BlendedConfidence, LlmOpinion, blend_confidence
from engine.ideas.book import DecisionError, IdeaBook
from engine.ideas.model import AuditEntry, ProposalResult, Skipped, TradeIdea

__all__ = ["AuditEntry", "BlendedConfidence", "DecisionError", "IdeaBook", "LlmOpinion", "ProposalResult",
           "Skipped", "TradeIdea", "blend_confidence"]
