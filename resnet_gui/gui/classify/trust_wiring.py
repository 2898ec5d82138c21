"""The Classify page's trust wiring (issue 16): the preview learns which model made the results
(its heatmaps, and the "not available" hint), and the hint's *Calibrate…* opens the dialog whose
calibrated model the page then loads. The badge and the *Unknown only* filter need no wiring:
they read each Prediction's ``unknown``."""

from __future__ import annotations

from PySide6.QtCore import QObject

from ..calibrate_dialog import CalibrateDialog


class TrustWiring(QObject):
    def __init__(self, page) -> None:
        super().__init__(page)
        self.page = page
        self.dialog: CalibrateDialog | None = None
        page.model_loaded.connect(lambda info, _device: page.preview.set_model(info))
        page.preview.calibrate_requested.connect(self.open_calibrate)
        if page.model is not None:
            page.preview.set_model(page.model)

    def open_calibrate(self) -> CalibrateDialog | None:
        """The dialog for the model in use (window-modal; the event loop goes on)."""
        page = self.page
        if page.model is None:
            return None
        self._close_dialog()
        dataset = page.settings.dataset  # the Label page's dataset, if any
        self.dialog = CalibrateDialog(page.model.source, dataset, page.state.device, page)
        self.dialog.use_requested.connect(page.use_model)
        self.dialog.open()
        return self.dialog

    def _close_dialog(self) -> bool:
        ok = True
        if self.dialog is not None:
            ok = self.dialog.shutdown()
            self.dialog.deleteLater()
            self.dialog = None
        return ok

    def shutdown(self) -> bool:
        """Stop the heatmap and calibration threads (the page's shutdown calls it)."""
        ok = self._close_dialog()
        return self.page.preview.shutdown() and ok
