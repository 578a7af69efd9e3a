"""The classifier heads we compare: the stock [CLS]-pooler head and a mean-pooling head.

all-MiniLM-L6-v2 was trained as a sentence encoder with mean pooling, so a mean-pooled head
starts closer to what the encoder already does well; which one ships is decided by dev score.
"""

from __future__ import annotations

import torch
from torch import nn
from transformers import BertConfig, BertForSequenceClassification, BertModel, BertPreTrainedModel
from transformers.modeling_outputs import SequenceClassifierOutput


class BertMeanPoolForSequenceClassification(BertPreTrainedModel):
    """Masked mean of the last hidden states -> dropout -> linear, like sentence-transformers."""

    def __init__(self, config: BertConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.bert = BertModel(config, add_pooling_layer=False)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, labels=None, **kwargs):
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                           token_type_ids=token_type_ids).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
        logits = self.classifier(self.dropout(pooled))
        loss = None
        if labels is not None:
            loss = nn.functional.cross_entropy(logits, labels)
        return SequenceClassifierOutput(loss=loss, logits=logits)


def model_class(pooling: str):
    if pooling == "mean":
        return BertMeanPoolForSequenceClassification
    if pooling == "cls":
        return BertForSequenceClassification
    raise ValueError(f"unknown pooling {pooling!r}")


def load_finetuned(path, attn_implementation: str | None = None):
    """Load a checkpoint written by finetune.py, picking the head recorded in its config."""
    config = BertConfig.from_pretrained(path)
    pooling = getattr(config, "signaldesk_pooling", "cls")
    kwargs = {"attn_implementation": attn_implementation} if attn_implementation else {}
    return model_class(pooling).from_pretrained(path, **kwargs)


class LogitsOnly(nn.Module):
    """Export wrapper: two inputs, one output, token_type_ids left to BertModel's zero default."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask):
        return self.model(input_ids=input_ids, attention_mask=attention_mask).logits
