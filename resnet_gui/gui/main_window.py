"""The main window: assembles the views and wires them to the classifier service.

Data flows one way: a user action builds a request -> ClassifierService (worker thread)
-> core -> signals -> the views' setters. Nothing here imports torch.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (QApplication, QComboBox, QFileDialog, QInputDialog, QLabel, QMainWindow, QMenu,
                               QMessageBox, QProgressBar, QPushButton, QSpinBox, QSplitter, QStyle, QTabWidget,
                               QToolBar, QToolButton, QVBoxLayout, QWidget)

from ..core.architectures import ARCH_NAMES
from ..core.images import IMAGE_EXTENSIONS
from .image_loader import ImageLoader
from .model_bar import ModelBar
from .preview_pane import PreviewPane
from .results_view import ResultsPanel, SkippedTable
from .settings import AppSettings
from .train_panel import TrainPanel
from .workers import KEEP_TOPK, ClassifierService, ModelSummary, ResultItem, RunSummary, SkippedItem

WEIGHT_SUFFIXES = (".pt", ".pth", ".ckpt", ".safetensors")
DEVICE_LABELS = {"auto": "Auto", "cpu": "CPU", "cuda": "CUDA (GPU)", "mps": "MPS (Apple GPU)"}
APP_TITLE = "ResNet Classifier"


def is_weights_path(path: str) -> bool:
    return Path(path).suffix.lower() in WEIGHT_SUFFIXES


class MainWindow(QMainWindow):
    """Emits ``run_finished(summary)`` after each classification, for scripts and tests."""

    run_finished = Signal(object)

    def __init__(self, settings: AppSettings | None = None, parent=None) -> None:
        super().__init__(parent)
        self.settings = settings or AppSettings()
        self.model: ModelSummary | None = None  # what is loaded in the worker
        self.last_error: str = ""  # the last fatal error shown in a dialog
        self.error_box: QMessageBox | None = None
        self._pending_paths: list[str] | None = None  # to classify once a model is ready
        self._last_paths: list[str] = []
        self._skipped_count = 0
        self._closing = False
        self._download_arch = ""

        self.loader = ImageLoader(self)
        self.service = ClassifierService(self)
        self._build_ui()
        self._connect()
        self.train_panel = TrainPanel(self.settings)
        self.train_panel.device_provider = self.device
        self.train_panel.use_model_requested.connect(self.use_model)
        self.train_panel.use_model_requested.connect(lambda _: self.tabs.setCurrentWidget(self.classify_page))
        self.service.model_loaded.connect(self.train_panel.set_current_model)
        self.add_tab(self.train_panel, "Fine-tune")
        self._restore_settings()
        QApplication.instance().aboutToQuit.connect(self._shutdown)

    # ================================================================ building

    def _build_ui(self) -> None:
        self.setWindowTitle(APP_TITLE)
        self.setAcceptDrops(True)
        self.resize(1180, 760)
        style = self.style()

        def action(text, icon, slot, shortcut=None, tip=None) -> QAction:
            act = QAction(style.standardIcon(icon), text, self)
            act.triggered.connect(slot)
            if shortcut:
                act.setShortcut(shortcut)
            act.setToolTip(tip or text)
            return act

        SP = QStyle.StandardPixmap
        self.open_weights_action = action("Open weights…", SP.SP_DialogOpenButton, self.choose_weights,
                                          QKeySequence("Ctrl+W"), "Open a .pt / .pth / .safetensors weights file")
        self.download_action = action("Download ImageNet…", SP.SP_ArrowDown, self.choose_download,
                                      tip="Download torchvision's ImageNet weights for a ResNet")
        self.open_folder_action = action("Open folder…", SP.SP_DirOpenIcon, self.choose_folder,
                                         QKeySequence("Ctrl+O"), "Classify every image in a folder (recursively)")
        self.open_images_action = action("Open images…", SP.SP_FileIcon, self.choose_images,
                                         QKeySequence("Ctrl+Shift+O"), "Classify some image files")
        self.export_action = action("Export CSV…", SP.SP_DialogSaveButton, self.choose_export,
                                    QKeySequence("Ctrl+E"), "Save path, top-k labels and probabilities to a CSV file")
        self.export_action.setEnabled(False)
        self.recent_menu = QMenu("Recent weights", self)
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)

        toolbar = QToolBar("Main")
        toolbar.setObjectName("mainToolbar")
        toolbar.setMovable(False)
        toolbar.setIconSize(QSize(20, 20))
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        toolbar.addAction(self.open_weights_action)
        recent_button = QToolButton()
        recent_button.setText("Recent")
        recent_button.setToolTip("Recently used weights files")
        recent_button.setMenu(self.recent_menu)
        recent_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.recent_button = recent_button
        toolbar.addWidget(recent_button)
        toolbar.addAction(self.download_action)
        toolbar.addSeparator()
        toolbar.addAction(self.open_folder_action)
        toolbar.addAction(self.open_images_action)
        toolbar.addSeparator()
        toolbar.addWidget(QLabel(" Device "))
        self.device_combo = QComboBox()
        for value in ("auto", "cpu"):
            self.device_combo.addItem(DEVICE_LABELS[value], value)
        self.device_combo.setToolTip("Where the model runs; CUDA / MPS appear when this machine has them")
        toolbar.addWidget(self.device_combo)
        toolbar.addWidget(QLabel("  Top-k "))
        self.topk_spin = QSpinBox(minimum=1, maximum=KEEP_TOPK, value=5)
        self.topk_spin.setToolTip("How many guesses the chart and the CSV show")
        toolbar.addWidget(self.topk_spin)
        toolbar.addSeparator()
        toolbar.addAction(self.export_action)
        self.addToolBar(toolbar)
        self.toolbar = toolbar

        menu = self.menuBar().addMenu("&File")
        for act in (self.open_weights_action, self.download_action):
            menu.addAction(act)
        menu.addMenu(self.recent_menu)
        menu.addSeparator()
        menu.addAction(self.open_folder_action)
        menu.addAction(self.open_images_action)
        menu.addAction(self.export_action)
        menu.addSeparator()
        menu.addAction("Quit", QKeySequence.StandardKey.Quit, self.close)

        # ---- classify page: results | preview + chart
        self.model_bar = ModelBar()
        self.results = ResultsPanel(self.loader)
        self.skipped = SkippedTable()
        self.lists = QTabWidget()
        self.lists.setDocumentMode(True)
        self.lists.addTab(self.results, "Results")
        self.lists.addTab(self.skipped, "Skipped")
        self.preview = PreviewPane(self.loader)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.lists)
        self.splitter.addWidget(self.preview)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([520, 640])
        page = QWidget()
        page_layout = QVBoxLayout(page)
        page_layout.setContentsMargins(6, 4, 6, 0)
        page_layout.addWidget(self.splitter)
        self.classify_page = page

        # ---- tabs: the Fine-tune panel is added with add_tab() by its owner
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.setTabBarAutoHide(True)
        self.tabs.addTab(page, "Classify")
        central = QWidget()
        central_layout = QVBoxLayout(central)
        central_layout.setContentsMargins(0, 0, 0, 0)
        central_layout.setSpacing(0)
        central_layout.addWidget(self.model_bar)
        central_layout.addWidget(self.tabs, 1)
        self.setCentralWidget(central)

        # ---- status bar: message | progress, rate, cancel
        status = self.statusBar()
        self.progress = QProgressBar()
        self.progress.setFixedWidth(220)
        self.progress.setFormat("%v / %m")
        self.rate_label = QLabel()
        self.rate_label.setMinimumWidth(90)
        self.cancel_button = QPushButton(style.standardIcon(SP.SP_BrowserStop), "Cancel")
        self.cancel_button.setToolTip("Stop classifying (Esc)")
        self.cancel_button.setShortcut(QKeySequence(Qt.Key.Key_Escape))
        self.cancel_button.clicked.connect(self.cancel)
        for widget in (self.progress, self.rate_label, self.cancel_button):
            status.addPermanentWidget(widget)
        self._set_running(False)

    def _connect(self) -> None:
        s = self.service
        s.devices_found.connect(self._on_devices)
        s.model_loading.connect(self._on_model_loading)
        s.model_loaded.connect(self._on_model_loaded)
        s.model_failed.connect(self._on_model_failed)
        s.download_progress.connect(lambda done, total: self.model_bar.show_download(self._download_arch, done, total))
        s.started.connect(self._on_started)
        s.results.connect(self._on_results)
        s.skipped.connect(self._on_skipped)
        s.progress.connect(self._on_progress)
        s.errored.connect(self._on_errored)
        s.finished.connect(self._on_finished)
        s.notice.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.model_bar.open_requested.connect(self.choose_weights)
        self.model_bar.download_requested.connect(self.choose_download)
        self.model_bar.cancel_download_requested.connect(self.service.cancel_download)
        self.results.current_changed.connect(self.preview.show_item)
        self.results.low_spin.valueChanged.connect(self._on_low_changed)
        self.topk_spin.valueChanged.connect(self._on_topk_changed)
        self.device_combo.currentIndexChanged.connect(self._on_device_changed)

    # ================================================================ public API

    def add_tab(self, widget: QWidget, title: str) -> int:
        """Add a page beside "Classify" (the Fine-tune panel goes here)."""
        return self.tabs.addTab(widget, title)

    def use_model(self, path: str | os.PathLike) -> None:
        """Load a checkpoint for classification (in the worker). Also used by the Fine-tune panel."""
        path = str(Path(path).resolve()) if path else ""
        self.settings.weights_folder = str(Path(path).parent)
        self.service.load(path, self.device())
        self._fill_recent_menu()

    def download_imagenet(self, arch: str) -> None:
        self._download_arch = arch
        self.model_bar.show_download(arch)
        self.service.download(arch, self.device())

    def classify(self, paths: list[str | os.PathLike]) -> None:
        """Classify files and folders; replaces a run in progress."""
        paths = [str(p) for p in paths]
        if not paths:
            return
        self._last_paths = paths
        self._remember_image_folder(paths[0])
        if self.model is None or self.service.model_busy:
            self._pending_paths = paths
            if self.service.model_busy:
                self.statusBar().showMessage("Waiting for the model to load…")
            else:
                self.statusBar().showMessage("Choose a model first: open a weights file or download ImageNet weights.")
                self.model_bar.show_none() if self.model_bar.state != "error" else None
            return
        self._pending_paths = None
        self.results.clear()
        self.skipped.clear_rows()
        self._skipped_count = 0
        self._update_tab_titles()
        self.progress.setRange(0, 0)  # busy until the files are counted
        self.rate_label.clear()
        self._set_running(True)
        self.statusBar().showMessage("Looking for images…")
        self.service.classify(paths)

    def open_paths(self, paths: list[str]) -> None:
        """What a drop does: weights files are loaded, images and folders classified."""
        weights = [p for p in paths if is_weights_path(p) and Path(p).is_file()]
        images = [p for p in paths if p not in weights]
        if weights:
            if len(weights) > 1:
                self.statusBar().showMessage(f"Several weights files dropped: using {Path(weights[-1]).name}", 8000)
            self.use_model(weights[-1])
        if images:
            self.classify(images)

    def cancel(self) -> None:
        self._pending_paths = None
        if self.service.running:
            self.service.cancel()

    def result_items(self) -> list[ResultItem]:
        return self.results.model.items()

    def export_csv(self, path: str | os.PathLike) -> Path:
        """Write every result (input order) and every skipped file, with the chosen k."""
        from ..core.export import write_predictions_csv

        rows = [SimpleNamespace(path=i.path, topk=i.topk, error=None)
                for i in sorted(self.result_items(), key=lambda i: i.index)]
        rows += [SimpleNamespace(path=p, topk=[], error=reason) for p, reason in self.skipped.entries()]
        return write_predictions_csv(path, rows, self.topk_spin.value())

    def device(self) -> str:
        return self.device_combo.currentData() or "auto"

    def set_device(self, device: str) -> None:
        """Choose auto/cpu/cuda/mps (as the selector does: a loaded model moves there). CUDA and
        MPS are listed once the worker has checked the machine; one asked for before that is
        added, and falls back to the CPU with a message if the machine lacks it."""
        if device not in DEVICE_LABELS:
            device = "auto"
        if self.device_combo.findData(device) < 0:
            self.device_combo.addItem(DEVICE_LABELS[device], device)
        self.device_combo.setCurrentIndex(self.device_combo.findData(device))

    def start(self, weights: str | None = None, images: list[str] | None = None) -> None:
        """First model and images: ``weights``, else the last used, else the default in weights/."""
        from ..paths import default_weights

        chosen = weights or (self.settings.weights if Path(self.settings.weights or "").is_file() else None)
        if chosen is None:
            found = default_weights()
            chosen = str(found) if found else None
        if chosen:
            self.use_model(chosen)
        else:
            self.model_bar.show_none()
            self.statusBar().showMessage("No model yet: open a weights file or download ImageNet weights.")
        if images:
            self.classify(images)

    # ================================================================ dialogs

    def choose_weights(self) -> None:
        start = self.settings.weights_folder or str(Path.home())
        path, _ = QFileDialog.getOpenFileName(self, "Open weights", start,
                                              "Weights (*.pt *.pth *.ckpt *.safetensors);;All files (*)")
        if path:
            self.use_model(path)

    def choose_download(self) -> None:
        arch, ok = QInputDialog.getItem(self, "Download ImageNet weights",
                                        "Architecture (torchvision ImageNet weights):",
                                        list(ARCH_NAMES), list(ARCH_NAMES).index("resnet50"), False)
        if ok and arch:
            self.download_imagenet(arch)

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Classify a folder", self.settings.image_folder or str(Path.home()))
        if folder:
            self.classify([folder])

    def choose_images(self) -> None:
        pattern = " ".join(f"*{e}" for e in sorted(IMAGE_EXTENSIONS))
        files, _ = QFileDialog.getOpenFileNames(self, "Classify images", self.settings.image_folder or str(Path.home()),
                                                f"Images ({pattern});;All files (*)")
        if files:
            self.classify(files)

    def choose_export(self) -> None:
        start = Path(self.settings.export_folder or self.settings.image_folder or Path.home()) / "predictions.csv"
        path, _ = QFileDialog.getSaveFileName(self, "Export results", str(start), "CSV (*.csv)")
        if not path:
            return
        try:
            written = self.export_csv(path)
        except OSError as exc:
            self._show_error(f"Could not write {path}: {exc}")
            return
        self.settings.export_folder = str(Path(path).parent)
        self.statusBar().showMessage(f"Wrote {written}", 8000)

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = self.settings.recent_weights
        for path in recent:
            act = self.recent_menu.addAction(Path(path).name)
            act.setToolTip(path)
            act.setStatusTip(path)
            act.setEnabled(Path(path).is_file())
            act.triggered.connect(lambda _=False, p=path: self.use_model(p))
        if not recent:
            self.recent_menu.addAction("(none yet)").setEnabled(False)
        else:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear list", self.settings.clear_recent_weights)

    # ================================================================ worker signals

    def _on_devices(self, devices: list[str]) -> None:
        wanted = self.settings.device
        self.device_combo.blockSignals(True)
        for value in ("cuda", "mps"):
            if value in devices and self.device_combo.findData(value) < 0:
                self.device_combo.addItem(DEVICE_LABELS[value], value)
        index = self.device_combo.findData(wanted)
        if index >= 0:
            self.device_combo.setCurrentIndex(index)
        self.device_combo.blockSignals(False)

    def _on_model_loading(self, path: str) -> None:
        self.model_bar.show_loading(path)
        self.statusBar().showMessage(f"Loading {Path(path).name}…")

    def _on_model_loaded(self, summary: ModelSummary) -> None:
        self.model = summary
        self.model_bar.show_model(summary)
        self.settings.weights = summary.source
        self.settings.add_recent_weights(summary.source)
        self.setWindowTitle(f"{Path(summary.source).name} — {APP_TITLE}")
        note = f" (note: {summary.notes[0]})" if summary.notes else ""
        self.statusBar().showMessage(f"Model ready: {summary.arch}, {summary.num_classes} classes, "
                                     f"on {summary.device.upper()}{note}", 10000)
        if self._pending_paths:
            self.classify(self._pending_paths)

    def _on_model_failed(self, message: str) -> None:
        had_model = self.model is not None
        self._pending_paths = None
        if message == "Download cancelled.":
            self.statusBar().showMessage(message, 8000)
        else:
            self._show_error(message, title="Cannot load the model")
        if had_model and self.model is not None and message:
            # the worker keeps the previous model when a new file fails
            self.model_bar.show_model(self.model)
            self.statusBar().showMessage(f"{message} — still using {Path(self.model.source).name}", 15000)
        else:
            self.model_bar.show_error(message)

    def _on_started(self, total: int) -> None:
        if total == 0:
            self.statusBar().showMessage("No image files found in " + ", ".join(Path(p).name for p in self._last_paths))
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(0)
        self._run_total = total

    def _on_results(self, items: list[ResultItem]) -> None:
        self.results.append(items)
        self.export_action.setEnabled(True)
        self._update_tab_titles()

    def _on_skipped(self, items: list[SkippedItem]) -> None:
        self.skipped.append(items)
        self._skipped_count += len(items)
        self.export_action.setEnabled(True)
        self._update_tab_titles()

    def _on_progress(self, done: int, total: int, rate: float) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.rate_label.setText(f"{rate:.1f} images/s" if rate else "")
        self.statusBar().showMessage(f"Classifying… {done} of {total}")

    def _on_errored(self, message: str, details: str) -> None:
        self._show_error(message, details, title="Classification failed")

    def _on_finished(self, summary: RunSummary) -> None:
        self._set_running(False)
        self.results.resort()
        rate = summary.classified / summary.seconds if summary.seconds > 0 else 0.0
        skipped = f", skipped {summary.skipped} (see the Skipped tab)" if summary.skipped else ""
        if summary.failed:
            text = f"Stopped after {summary.classified} images: {self.last_error}"
        elif summary.cancelled:
            text = f"Cancelled: {summary.classified + summary.skipped} of {summary.total} done{skipped}"
        elif summary.total == 0:
            text = "No image files found"
        else:
            text = (f"Classified {summary.classified} images{skipped} in {summary.seconds:.1f} s "
                    f"({rate:.1f} images/s on {summary.device.upper()})")
        self.statusBar().showMessage(text)
        if summary.skipped and not summary.classified:
            self.lists.setCurrentWidget(self.skipped)
        self.run_finished.emit(summary)

    # ================================================================ view state

    def _set_running(self, running: bool) -> None:
        self.progress.setVisible(running)
        self.rate_label.setVisible(running)
        self.cancel_button.setVisible(running)
        self.cancel_button.setEnabled(running)

    def _update_tab_titles(self) -> None:
        n = self.results.model.rowCount()
        self.lists.setTabText(0, f"Results ({n})" if n else "Results")
        self.lists.setTabText(1, f"Skipped ({self._skipped_count})" if self._skipped_count else "Skipped")

    def _show_error(self, message: str, details: str = "", title: str = "Error") -> None:
        self.last_error = message
        self.statusBar().showMessage(message, 30000)
        if self._closing:
            return
        if self.error_box is not None:
            self.error_box.close()
        box = QMessageBox(QMessageBox.Icon.Critical, title, message, QMessageBox.StandardButton.Ok, self)
        if details:
            box.setDetailedText(details)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.destroyed.connect(lambda *_: setattr(self, "error_box", None))
        self.error_box = box
        box.open()  # window-modal, does not block the event loop

    def _on_topk_changed(self, k: int) -> None:
        self.preview.set_k(k)
        self.settings.topk = k

    def _on_low_changed(self, percent: int) -> None:
        self.preview.low_threshold = percent / 100.0
        self.preview.show_item(self.results.current_item())
        self.settings.low_confidence = percent

    def _on_device_changed(self, _index: int) -> None:
        device = self.device()
        self.settings.device = device
        if self.model is None and not self.service.model_busy:
            return
        source = self.model.source if self.model else self.settings.weights
        if self.service.running:  # finish the same images on the new device
            self._pending_paths = self._last_paths
            self.service.cancel()
        self.service.load(source, device)

    def _remember_image_folder(self, path: str) -> None:
        p = Path(path)
        self.settings.image_folder = str(p if p.is_dir() else p.parent)

    # ================================================================ drag and drop

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:
        self.dragEnterEvent(event)

    def dropEvent(self, event) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if not paths:
            event.ignore()
            return
        event.acceptProposedAction()
        # let the drop finish before the work starts (the OS waits on the drop)
        QTimer.singleShot(0, lambda: self.open_paths(paths))

    # ================================================================ settings and closing

    def _restore_settings(self) -> None:
        s = self.settings
        if not s.geometry.isEmpty():
            self.restoreGeometry(s.geometry)
        if not s.window_state.isEmpty():
            self.restoreState(s.window_state)
        for name, splitter in (("main", self.splitter), ("preview", self.preview.splitter)):
            state = s.splitter(name)
            if not state.isEmpty():
                splitter.restoreState(state)
        self.topk_spin.setValue(s.topk)
        self.preview.set_k(s.topk)
        self.results.low_spin.setValue(s.low_confidence)
        self.device_combo.blockSignals(True)
        self.set_device(s.device)
        self.device_combo.blockSignals(False)

    def save_settings(self) -> None:
        s = self.settings
        s.geometry = self.saveGeometry()
        s.window_state = self.saveState()
        s.set_splitter("main", self.splitter.saveState())
        s.set_splitter("preview", self.preview.splitter.saveState())
        s.topk = self.topk_spin.value()
        s.device = self.device()
        s.low_confidence = self.results.low_spin.value()
        s.sync()

    def _shutdown(self) -> None:
        """Cancel the run and wait for the threads: never leave one running."""
        self._closing = True
        self.service.shutdown()
        self.loader.shutdown()
        self.train_panel.shutdown()

    def confirm_stop_training(self) -> bool:
        """Asked when the window closes during a fine-tune (tests replace it)."""
        answer = QMessageBox.question(self, "Fine-tuning", "Training is running. Cancel it and close?",
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.train_panel.running:
            if not self.confirm_stop_training():
                event.ignore()
                return
            self.statusBar().showMessage("Stopping the training (the best model so far is kept)…")
        if self.service.running:
            self.statusBar().showMessage("Stopping…")
        self.save_settings()
        self._shutdown()
        super().closeEvent(event)
