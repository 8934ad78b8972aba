"""BERT/ALBERT pretraining: masked LM (computed only at the labelled positions) plus the NSP or SOP sentence head."""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .config import ModelConfig
from .heads import MaskedLMHead
from .model import AlbaModel, AlbaPreTrainedModel

IGNORE_INDEX = -100


@dataclass
class PreTrainingOutput:
    loss: torch.Tensor | None  # mlm_loss + sentence_loss, or whichever exists
    mlm_loss: torch.Tensor | None
    sentence_loss: torch.Tensor | None
    mlm_logits: torch.Tensor  # (N_masked, V) when mlm_labels is given, else (B, T, V)
    sentence_logits: torch.Tensor | None  # (B, 2), (B, P, 2) for packed rows; None without a sentence head
    # Accuracy counts (0-dim long tensors, no grad; 0 when not applicable), summed over the batch so that
    # callers can add them across steps and processes before dividing.
    mlm_correct: torch.Tensor
    mlm_total: torch.Tensor
    sentence_correct: torch.Tensor
    sentence_total: torch.Tensor


class AlbaForPreTraining(AlbaPreTrainedModel):
    def __init__(self, config: ModelConfig):
        super().__init__(config)
        has_sentence_head = config.sentence_head != "none"
        # No pooler without a sentence head: unused parameters would break DDP's gradient reduction.
        self.alba = AlbaModel(config, add_pooler=has_sentence_head)
        self.mlm_head = MaskedLMHead(config)
        # IsNext/NotNext (NSP) or in-order/swapped (SOP) from the pooled [CLS]; config.sentence_head says which.
        self.sentence_classifier = nn.Linear(config.hidden_size, 2) if has_sentence_head else None
        self.init_weights(*(m for m in (self.mlm_head, self.sentence_classifier) if m is not None))

    def forward(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor | None = None,
                attention_mask: torch.Tensor | None = None, mlm_labels: torch.Tensor | None = None,
                sentence_labels: torch.Tensor | None = None, position_ids: torch.Tensor | None = None,
                pack_ids: torch.Tensor | None = None, cls_positions: torch.Tensor | None = None) -> PreTrainingOutput:
        """`mlm_labels`: (B, T) target ids, -100 where no prediction is made; `sentence_labels`: (B,) 0/1, -100 to
        skip an example, or (B, P) for packed rows, one per `cls_positions` entry."""
        sequence, pooled = self.alba(input_ids, token_type_ids, attention_mask, position_ids, pack_ids,
                                     cls_positions)
        word_embeddings = self.alba.embeddings.word_embeddings.weight
        zero = torch.zeros((), dtype=torch.long, device=input_ids.device)
        mlm_loss = sentence_loss = sentence_logits = None
        mlm_correct = mlm_total = sentence_correct = sentence_total = zero

        if mlm_labels is None:
            mlm_logits = self.mlm_head(sequence, word_embeddings)
        else:
            # Gather first: the V-way projection at every position would dominate the cost of a small model.
            selected = mlm_labels != IGNORE_INDEX
            targets = mlm_labels[selected]
            mlm_logits = self.mlm_head(sequence[selected], word_embeddings)
            # Mean over the labelled positions; a batch without any gives 0 rather than NaN.
            mlm_loss = F.cross_entropy(mlm_logits.float(), targets, reduction="sum") / max(targets.numel(), 1)
            with torch.no_grad():
                mlm_correct = (mlm_logits.argmax(-1) == targets).sum()
                mlm_total = selected.sum()

        if self.sentence_classifier is not None:
            sentence_logits = self.sentence_classifier(pooled)
            if sentence_labels is not None:
                if sentence_labels.shape != sentence_logits.shape[:-1]:
                    raise ValueError(f"sentence_labels shape {tuple(sentence_labels.shape)} does not match the "
                                     f"{tuple(sentence_logits.shape[:-1])} sentences of the batch")
                valid = sentence_labels != IGNORE_INDEX
                sentence_total = valid.sum()
                sentence_loss = F.cross_entropy(sentence_logits.flatten(0, -2).float(), sentence_labels.flatten(),
                                                ignore_index=IGNORE_INDEX, reduction="sum") / sentence_total.clamp(min=1)
                with torch.no_grad():
                    sentence_correct = ((sentence_logits.argmax(-1) == sentence_labels) & valid).sum()
        elif sentence_labels is not None:
            raise ValueError("sentence_labels given to a model built with sentence_head='none'")

        losses = [x for x in (mlm_loss, sentence_loss) if x is not None]
        return PreTrainingOutput(
            loss=sum(losses[1:], losses[0]) if losses else None, mlm_loss=mlm_loss, sentence_loss=sentence_loss,
            mlm_logits=mlm_logits, sentence_logits=sentence_logits, mlm_correct=mlm_correct, mlm_total=mlm_total,
            sentence_correct=sentence_correct, sentence_total=sentence_total)
