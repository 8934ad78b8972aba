"""Fine-tuning task families (GLUE, SQuAD, multiple choice) on the shared engine: not built yet (see the issues)."""
