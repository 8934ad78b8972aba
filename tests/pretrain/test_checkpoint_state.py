"""A checkpoint carries fp16's dynamic loss scaler, so a resumed fp16 run continues at the scale it had reached."""
import torch

from modeling import AlbaForPreTraining, ModelConfig
from pretrain.checkpoint import TrainState, load_checkpoint, save_checkpoint
from pretrain.optim import build_scheduler


def _parts():
    model = AlbaForPreTraining(ModelConfig.from_preset("albert-test", vocab_size=64))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    return model, optimizer, build_scheduler(optimizer, 2, 10, "linear")


def test_loss_scaler_state_survives_a_checkpoint(tmp_path):
    model, optimizer, scheduler = _parts()
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0 ** 10, growth_interval=3)
    for overflow in (False, True, False, False):  # one overflow halves the scale; two clean steps count growth
        model.zero_grad()
        loss = sum(p.sum() for p in model.parameters())
        scaler.scale(loss).backward()
        if overflow:
            next(model.parameters()).grad.fill_(float("inf"))
        scaler.step(optimizer)
        scaler.update()
    path = save_checkpoint(tmp_path, 4, model, None, optimizer.state_dict(), scheduler, TrainState(step=4),
                           scaler=scaler)

    model2, optimizer2, scheduler2 = _parts()
    fresh = torch.amp.GradScaler("cpu", init_scale=2.0 ** 16, growth_interval=3)
    load_checkpoint(path, model2, optimizer2, scheduler2, fresh)
    assert fresh.get_scale() == scaler.get_scale() == 2.0 ** 9
    assert fresh.state_dict() == scaler.state_dict()
