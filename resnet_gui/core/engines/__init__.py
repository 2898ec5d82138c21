"""Inference engines beside PyTorch: ONNX export with the app's metadata, int8 calibration on
the user's photos, ONNX Runtime and OpenVINO classifiers, and the cached conversion of a
``.pt`` into an engine model. Running an ``.onnx`` file never imports torch or torchvision.

Modules: ``metadata`` (ModelInfo <-> ONNX metadata props), ``preprocess`` (the eval transform
in numpy), ``onnx_model`` (reading and checking an ``.onnx`` file), ``runtimes`` (the engine
classifiers), ``export`` and ``parity`` (torch side), ``quantize`` (int8 and its refusal rule),
``cache`` (conversions keyed by the weights' hash), ``choose`` (which engine runs).
"""
