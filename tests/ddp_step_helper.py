"""One optimizer step of a resnet18, the way fine_tune takes it; run by test_distributed.py
both in-process (one process) and under ``python -m torch.distributed.run`` (DDP, gloo).

As a script it is one process of a group set up by torchrun's variables (RANK, WORLD_SIZE,
MASTER_ADDR, MASTER_PORT): the test runs rank 0 itself and this script as rank 1.
"""

from __future__ import annotations

from types import SimpleNamespace

import torch

from resnet_gui.core.distributed import Dist, from_env
from resnet_gui.core.model.architectures import build_model
from resnet_gui.core.train import parallel
from resnet_gui.core.train.steps import Compute, ImageBatches, train_one_epoch

N_IMAGES = GLOBAL_BATCH = 8  # one step sees every image
NUM_CLASSES = 3


def data():
    g = torch.Generator().manual_seed(1)
    images = [torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8, generator=g) for _ in range(N_IMAGES)]
    return SimpleNamespace(images=images, labels=[i % NUM_CLASSES for i in range(N_IMAGES)])


def fresh_model():
    torch.manual_seed(0)
    return build_model("resnet18", NUM_CLASSES)


def one_step(dist: Dist, bn_train: bool) -> dict:
    """The weights after one SGD step with global batch GLOBAL_BATCH, through the same
    pieces fine_tune uses: rank_order, check_world, wrap, Sync, train_one_epoch."""
    model = fresh_model()
    model.train(bn_train)
    images = data()
    batches = ImageBatches(Compute(torch.device("cpu")), images, images, augment=lambda t: t, erase=None)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    local_batch = parallel.check_world(dist, N_IMAGES, GLOBAL_BATCH)
    order = parallel.rank_order(list(range(N_IMAGES)), dist)
    net = parallel.wrap(model, "full", dist)
    steps = list(train_one_epoch(net, batches, torch.nn.CrossEntropyLoss(), optimizer, scheduler, order, local_batch,
                                 1, 1, 1, lambda: False, parallel.sync_or_none(dist)))
    assert len(steps) == 1
    return {k: v.detach().clone() for k, v in model.named_parameters()}


def per_process_batchnorm_reference(world: int) -> dict:
    """What DDP computes with BatchNorm in train mode: each process normalises its own share
    (order[r::world]) by that share's statistics; the gradients are averaged."""
    model = fresh_model().train()
    images = data()
    compute = Compute(torch.device("cpu"))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9, weight_decay=1e-4)
    for rank in range(world):
        idx = list(range(N_IMAGES))[rank::world]
        x = compute.normalise(torch.stack([images.images[i] for i in idx]))
        loss = torch.nn.functional.cross_entropy(model(x), torch.tensor([images.labels[i] for i in idx]))
        (loss / world).backward()
    optimizer.step()
    return {k: v.detach().clone() for k, v in model.named_parameters()}


def both_steps(dist: Dist) -> dict:
    return {"eval_bn": one_step(dist, bn_train=False), "train_bn": one_step(dist, bn_train=True)}


if __name__ == "__main__":
    both_steps(from_env("cpu"))
