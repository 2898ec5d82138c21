"""Reviewing a training folder and explaining predictions, without Qt.

features (penultimate features of a folder), mislabeled (out-of-fold label quality),
duplicates (exact and near copies, train/val leakage), cam (Grad-CAM heatmaps and overlays),
folder (the whole review as one generator, for the CLI and the window)."""
