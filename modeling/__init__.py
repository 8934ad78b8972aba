"""alba's models: pure torch.nn BERT/ALBERT encoders, their pretraining heads, presets and Hugging Face import/export.

`from_hf` reads and `to_hf` writes `transformers` models without importing `transformers`, which stays a
test-only dependency.
"""
from .config import PRESETS, ConfigError, ModelConfig
from .hf_export import to_hf
from .hf_import import from_hf
from .loading import load_model
from .model import AlbaModel, AlbaPreTrainedModel, EncoderOutput
from .pretraining import AlbaForPreTraining, PreTrainingOutput

__all__ = ["PRESETS", "ConfigError", "ModelConfig", "AlbaModel", "AlbaPreTrainedModel", "EncoderOutput",
           "AlbaForPreTraining", "PreTrainingOutput", "from_hf", "to_hf", "load_model"]
