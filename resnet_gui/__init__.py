"""ResNet Classifier: classify photos and fine-tune ResNets from a desktop app or the CLI.

Importing this package is cheap on purpose: torch is imported only by the modules
that need it (``resnet_gui.core.*``), so the window can appear before torch loads.
"""

__version__ = "0.1.0"
