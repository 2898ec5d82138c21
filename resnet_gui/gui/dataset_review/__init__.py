"""The Review page: a training folder's likely mislabeled photos and duplicates (core/review),
with moves journaled in the dataset's own journal (core/files), so Undo works here and on the
Label page alike."""
