"""Models: torchvision ResNets by name, safe loading and saving, class names, devices, downloads."""
