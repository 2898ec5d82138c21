"""The Classify page's File-menu actions: ask with a dialog, then call the page (a mixin of
:class:`~resnet_gui.gui.classify.page.ClassifyPage`), and the CSV export they lead to."""

from __future__ import annotations

import os
from pathlib import Path

from . import dialogs


class FileActions:
    """Needs the page's ``settings``, ``use_model``, ``download_imagenet``, ``classify``,
    ``result_items``, ``skipped``, ``topk_spin``, ``status_message`` and ``_show_error``."""

    def export_csv(self, path: str | os.PathLike) -> Path:
        """Write every result (input order) and every skipped file, with the chosen k."""
        from ...core.results_csv import write_predictions_csv

        rows = sorted(self.result_items(), key=lambda p: p.index) + self.skipped.predictions()
        return write_predictions_csv(path, rows, self.topk_spin.value())

    def choose_weights(self) -> None:
        path = dialogs.ask_weights(self, self.settings.weights_folder)
        if path:
            self.use_model(path)

    def choose_download(self) -> None:
        arch = dialogs.ask_architecture(self)
        if arch:
            self.download_imagenet(arch)

    def choose_folder(self) -> None:
        folder = dialogs.ask_folder(self, self.settings.image_folder)
        if folder:
            self.classify([folder])

    def choose_images(self) -> None:
        files = dialogs.ask_images(self, self.settings.image_folder)
        if files:
            self.classify(files)

    def choose_export(self) -> None:
        path = dialogs.ask_export_path(self, self.settings.export_folder or self.settings.image_folder)
        if not path:
            return
        try:
            written = self.export_csv(path)
        except OSError as exc:
            self._show_error(f"Could not write {path}: {exc}")
            return
        self.settings.export_folder = str(Path(path).parent)
        self.status_message.emit(f"Wrote {written}", 8000)
