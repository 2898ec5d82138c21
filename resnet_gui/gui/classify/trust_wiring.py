"""The Classify page's trust wiring (issue 16): the preview learns which model is in use (its
heatmaps, and the "not available" hint), and the hint's *Calibrate…* opens the dialog for that
model on the session's dataset; ``use_requested`` asks for the calibrated model it wrote. The
badge and the *Unknown only* filter need no wiring: they read each Prediction's ``unknown``."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from ...core.session import SessionState
from ..calibrate_dialog import CalibrateDialog
from .preview import PreviewPane


class TrustWiring(QObject):
    use_requested = Signal(str)  # the calibrated model the dialog wrote, to be opened

    def __init__(self, preview: PreviewPane, state: SessionState, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.preview, self.state = preview, state
        self.dialog: CalibrateDialog | None = None
        state.events.model.connect(self._on_model)
        preview.calibrate_requested.connect(self.open_calibrate)
        if state.model is not None:
            preview.set_model(state.model)

    def _on_model(self, info) -> None:
        if info is not None:
            self.preview.set_model(info)

    def open_calibrate(self) -> CalibrateDialog | None:
        """The dialog for the model in use (window-modal over the preview's window; the event loop goes on)."""
        if self.state.model is None:
            return None
        self._close_dialog()
        self.dialog = CalibrateDialog(self.state.model.source, self.state.data_dir, self.state.device, self.preview)
        self.dialog.use_requested.connect(self.use_requested)
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
        """Stop the calibration's thread (the page's shutdown calls it). Safe to call twice."""
        return self._close_dialog()
