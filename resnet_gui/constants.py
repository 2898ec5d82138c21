"""Names and fixed choices used across the app: one place, no imports (the PyInstaller spec,
the CLI, the core and the window all read them)."""

APP_ID = "ResNetClassifier"  # folder names: app data, the bundle, QSettings' organisation
APP_TITLE = "ResNet Classifier"  # what the user sees: window title, QSettings' application
DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")
WEIGHT_SUFFIXES = (".pt", ".pth", ".ckpt", ".safetensors", ".onnx")  # what the file dialog and drops accept
APP_FOLDER = ".resnet-gui"  # the hidden folder the app keeps in a dataset or a sort's destination (journals)
ENGINE_CHOICES = ("auto", "torch", "onnxruntime", "openvino")  # auto: torch on CUDA/MPS, an ONNX engine on the CPU
NONE_FOLDER = "_none"  # in a dataset: photos of none of the classes (outlier exposure, the out-of-class threshold)
NONE_TEXT = "none of these"  # what the user sees for that folder (Label page, verdicts)
