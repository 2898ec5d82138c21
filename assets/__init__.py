"""``resnet_gui.assets``: the app's icons (package data; see resnet_gui/resources.py).

pyproject.toml maps this package onto the top-level ``assets/`` folder, so editable
installs, wheels and the PyInstaller bundle all find the files with importlib.resources.
The screenshots here are for the README and do not ship.
"""
