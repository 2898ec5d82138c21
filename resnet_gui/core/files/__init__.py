"""The user's files: plan, check, execute with a journal, undo and redo; datasets as folders.

Nothing here deletes a photo. A copy is the default; a move is copy -> fsync -> compare ->
remove the source; a batch is planned (:mod:`.plan`), checked before anything is written
(:mod:`.checks`), then executed through an append-only journal on disk (:mod:`.journal`)
that can finish, undo or redo it, also after a crash or a kill.
"""
