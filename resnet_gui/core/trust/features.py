"""What the out-of-class scores look at: the spread of each stage's feature maps.

For every stage of a torchvision ResNet (layer1..layer4), the standard deviation of each
channel over the image, L2-normalised per stage and concatenated (64+128+256+512 = 960 values
for resnet18; stages wider than 512 channels are averaged down to 512 in adjacent groups).
Feature-map statistics of all stages separate "not one of my classes" far better than the
penultimate features alone on the shipped model (docs/trust.md: AUROC 0.97 vs 0.61-0.85).
The same computation runs in the exported ONNX graph (its ``features`` output).
"""

from __future__ import annotations

from typing import Callable

FEATURE_CHUNK = 64  # images per forward pass
FEATURES_KIND = "stage-std-v1"  # stored with the trust data: what its arrays describe
MAX_STAGE_CHANNELS = 512


def _stage_stats(x, channels: int):
    import torch

    x = x.float()  # under autocast the maps may be bf16/fp16
    spread = ((x - x.mean((2, 3), keepdim=True)) ** 2).mean((2, 3)).sqrt()  # per channel, over the image
    if channels > MAX_STAGE_CHANNELS:  # a Python int: the exported graph has no branch
        spread = spread.reshape(-1, MAX_STAGE_CHANNELS, channels // MAX_STAGE_CHANNELS).mean(2)
    return spread / torch.linalg.vector_norm(spread, dim=1, keepdim=True).clamp_min(1e-12)


def _stage_channels(net) -> list[int]:
    expansion = int(net.fc.in_features) // 512  # 1 for basic blocks, 4 for bottlenecks
    return [c * expansion for c in (64, 128, 256, 512)]


def logits_and_features(net, x):
    """torchvision ResNet.forward, also returning the stage statistics described above."""
    logits, _, stats = logits_pooled_and_stats(net, x)
    return logits, stats


def logits_pooled_and_stats(net, x):
    """One forward pass: the logits, fc's input (what core/review's out-of-fold heads learn
    from) and the stage statistics. ``net.fc`` is never swapped: the model may be in use elsewhere."""
    import torch

    x = net.maxpool(net.relu(net.bn1(net.conv1(x))))
    stats = []
    for layer, channels in zip((net.layer1, net.layer2, net.layer3, net.layer4), _stage_channels(net)):
        x = layer(x)
        stats.append(_stage_stats(x, channels))
    pooled = torch.flatten(net.avgpool(x), 1)
    return net.fc(pooled), pooled, torch.cat(stats, 1)


def feature_width(net) -> int:
    """How many values :func:`logits_and_features` gives per image (960 for resnet18/34)."""
    return sum(min(c, MAX_STAGE_CHANNELS) for c in _stage_channels(net))


def extract(net, images: list, normalise: Callable, device, should_stop: Callable[[], bool] | None = None,
            progress: Callable[[int], None] | None = None):
    """``(logits, features)`` as float32 numpy arrays for a list of uint8 CHW tensors of one
    size (already cropped), in chunks, in eval mode; None if ``should_stop()`` turned true."""
    import numpy as np
    import torch

    net.eval()
    logits, features = [], []
    with torch.inference_mode():
        for start in range(0, len(images), FEATURE_CHUNK):
            x = normalise(torch.stack(images[start:start + FEATURE_CHUNK]).to(device))
            out, feats = logits_and_features(net, x)
            logits.append(out.float().cpu().numpy())
            features.append(feats.float().cpu().numpy())
            if progress is not None:
                progress(min(start + FEATURE_CHUNK, len(images)))
            if should_stop is not None and should_stop():
                return None
    return (np.concatenate(logits) if logits else np.zeros((0, int(net.fc.out_features)), np.float32),
            np.concatenate(features) if features else np.zeros((0, feature_width(net)), np.float32))


def normaliser(mean, std, device):
    """uint8 NCHW -> float, ``(x / 255 - mean) / std``, as the Classifier does."""
    import torch

    shape = (1, 3, 1, 1)
    m = torch.tensor(mean, device=device).view(shape) * 255.0
    s = torch.tensor(std, device=device).view(shape) * 255.0
    return lambda x: (x.float() - m) / s
