# PyInstaller runtime hook of the --cpu-only bundle (packaging/resnet_gui.spec): that bundle
# lacks the NVIDIA libraries torch loads only to compute on a GPU (cuDNN's engines, cuSOLVER),
# so never let torch see a GPU; it runs on the CPU as it would on a machine without one.
import os

os.environ["CUDA_VISIBLE_DEVICES"] = ""
