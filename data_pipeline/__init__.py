"""From raw text to tensors: corpora, sentence splitting, tokenizers, NSP/SOP instances, masking and collation."""
from .collator import PretrainingCollator
from .corpus import load_corpus
from .dataset import PretrainingDataset
from .embedded import embedded_corpus
from .errors import DataError
from .instances import Instance, Instances, create_instances
from .sentences import split_sentences
from .synthetic import synthetic_corpus
from .token_docs import TokenDocs
from .tokenizer import (SpecialTokens, load_tokenizer, save_tokenizer, tokenize_corpus, train_tokenizer,
                        word_continuation_ids)

__all__ = ["DataError", "load_corpus", "embedded_corpus", "synthetic_corpus", "split_sentences", "train_tokenizer",
           "save_tokenizer", "load_tokenizer", "SpecialTokens", "tokenize_corpus", "word_continuation_ids",
           "TokenDocs", "create_instances", "Instance", "Instances",
           "PretrainingDataset", "PretrainingCollator"]
