"""The copy task every encoder-decoder must learn: 3 to 6 random words 4..vocab_size-1 and <eos> in, the same out."""
import torch

from modeling.baselines.seq2seq import BOS, EOS, PAD


def copy_batch(size, vocab_size, generator):
    """(source words + <eos>, <bos> + words, words + <eos>), each padded at the end."""
    lengths = torch.randint(3, 7, (size,), generator=generator).tolist()
    src = torch.full((size, max(lengths) + 1), PAD)
    for i, n in enumerate(lengths):
        src[i, :n] = torch.randint(4, vocab_size, (n,), generator=generator)
        src[i, n] = EOS
    words = src[:, :-1].clone()
    words[words == EOS] = PAD
    return src, torch.cat([torch.full((size, 1), BOS), words], 1), src.clone()


def copy_accuracy(model, vocab_size, steps, batch_size, lr, clip=None, decay=False, held_out=256) -> float:
    """Train the model with Adam on fresh copy batches (the learning rate decaying linearly to 0 if decay, the
    gradient norm clipped at clip if given), then its teacher-forced token accuracy on held_out new sentences."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1 - step / steps if decay else 1.0)
    generator = torch.Generator().manual_seed(0)
    for _ in range(steps):
        loss = model(*copy_batch(batch_size, vocab_size, generator)).loss
        optimizer.zero_grad()
        loss.backward()
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        schedule.step()
    model.eval()
    src, tgt_in, labels = copy_batch(held_out, vocab_size, generator)
    with torch.no_grad():
        predicted = model(src, tgt_in).logits.argmax(-1)
    real = labels != PAD
    return (predicted[real] == labels[real]).float().mean().item()
