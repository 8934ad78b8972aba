"""The classic small models used as sanity checks of the engine: word2vec, RNN family, MemN2N, MemNN, n-gram LM."""
