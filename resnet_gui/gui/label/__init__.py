"""The Label page: a thumbnail grid of unlabeled photos, class keys 1-9, a journal with undo."""
