"""The window: views and wiring only, one folder per page; work runs in the core, through gui/tasks.py."""
