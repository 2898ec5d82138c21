"""The Classify page: ``page.py`` wires the views (``results.py``, ``preview.py`` with
``topk_chart.py``, ``model_bar.py``, ``run_status.py``) to the Qt-free jobs of ``jobs.py``,
run on the page's TaskRunner; ``dialogs.py`` asks for files and folders."""
