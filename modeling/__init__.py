"""alba's models: pure torch.nn BERT/ALBERT encoders, their pretraining heads, presets and Hugging Face import.

`from_hf` reads a `transformers` model without importing `transformers`, which stays a test-only dependency.
"""
from .config import PRESETS, ConfigError, ModelConfig
from .hf_import import from_hf
from .model import AlbaModel, AlbaPreTrainedModel, EncoderOutput
from .pretraining import AlbaForPreTraining, PreTrainingOutput

__all__ = ["PRESETS", "ConfigError", "ModelConfig", "AlbaModel", "AlbaPreTrainedModel", "EncoderOutput",
           "AlbaForPreTraining", "PreTrainingOutput", "from_hf"]
