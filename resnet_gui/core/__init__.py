"""The Qt-free core: models, safe loading, images, inference and training.

Submodules import torch; this package file does not, so ``import resnet_gui.core``
stays cheap.
"""
