"""The classic models' jobs (word2vec, CNNs, RNN language models, memory networks) on the shared run skeleton
(`pretrain.job`); their `torch.nn` models live in `modeling/baselines/`."""
