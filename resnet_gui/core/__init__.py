"""The Qt-free core: models, images, inference and training, used by the CLI and the window.

Submodules import torch inside their functions; this package file does not, so
``import resnet_gui.core`` stays cheap. An import-linter contract keeps Qt out.
"""
