"""The Fine-tune page: ``page.py`` wires ``form.py`` (options -> TrainConfig), the background
``jobs.py`` (Qt-free) and ``run_view.py`` (progress, curves, result; charts in ``charts.py``)."""
