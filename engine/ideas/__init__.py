"""Trade ideas: one per asset and horizon from the evidence on it, sized, reviewed by a person.

``IdeaBook`` is the facade; see :mod:`engine.ideas.book`. Nothing here ever places an order.
"""

from engine.ideas.blend import BlendedConfidence, LlmOpinion, blend_confidence
from engine.ideas.book import DecisionError, IdeaBook
from engine.ideas.model import (AssetIdea, AuditEntry, IdeaChange, IdeaEvent, ProposalResult, Skipped,
                                TradeIdea)

__all__ = ["AssetIdea", "AuditEntry", "BlendedConfidence", "DecisionError", "IdeaBook", "IdeaChange", "IdeaEvent",
           "LlmOpinion", "ProposalResult", "Skipped", "TradeIdea", "blend_confidence"]
