"""Fine-tuning: a config with one ``resolve()``, plain events, and the ``fine_tune`` generator."""
