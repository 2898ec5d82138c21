"""The penultimate-layer features of a torchvision ResNet (the input of ``fc``), with the logits."""

from __future__ import annotations

from typing import Callable

FEATURE_CHUNK = 64  # images per forward pass


def logits_and_features(net, x):
    """torchvision ResNet.forward, also returning the pooled features that ``fc`` sees."""
    import torch

    x = net.maxpool(net.relu(net.bn1(net.conv1(x))))
    x = net.layer4(net.layer3(net.layer2(net.layer1(x))))
    features = torch.flatten(net.avgpool(x), 1)
    return net.fc(features), features


def feature_width(net) -> int:
    return int(net.fc.in_features)


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
    width = feature_width(net)
    classes = int(net.fc.out_features)
    return (np.concatenate(logits) if logits else np.zeros((0, classes), np.float32),
            np.concatenate(features) if features else np.zeros((0, width), np.float32))


def normaliser(mean, std, device):
    """uint8 NCHW -> float, ``(x / 255 - mean) / std``, as the Classifier does."""
    import torch

    shape = (1, 3, 1, 1)
    m = torch.tensor(mean, device=device).view(shape) * 255.0
    s = torch.tensor(std, device=device).view(shape) * 255.0
    return lambda x: (x.float() - m) / s
