"""Fine-tuning task families on the shared engine: GLUE (glue.py: the nine tasks' files, labels and metrics;
runner.py), SQuAD v1.1/v2.0 (squad.py: data and official EM/F1; squad_features.py: windows and span search;
squad_runner.py) and SWAG-style multiple choice (swag.py). starting_model.py loads the model and its tokenizer."""
