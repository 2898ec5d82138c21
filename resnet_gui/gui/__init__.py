"""Qt views and wiring only; all heavy work lives in resnet_gui.core, run in workers."""
