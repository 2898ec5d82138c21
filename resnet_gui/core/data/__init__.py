"""Images: robust decoding, folder walks, the eval transform, labeled folders and in-memory sets."""
