"""``resnet_gui.weights``: the shipped models (package data; see resnet_gui/resources.py).

pyproject.toml maps this package onto the top-level ``weights/`` folder, so editable
installs, wheels and the PyInstaller bundle all find the files with importlib.resources.
"""
