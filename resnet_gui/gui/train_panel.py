"""The Fine-tune page: choose a labeled folder, see its classes, train, watch, use the model.

Data flows one way: the widgets build a ``TrainConfig`` -> :class:`TrainService` (worker
thread) -> ``core.training.fine_tune`` -> signals -> the views' setters here. Nothing in
this module imports torch; ``core.training`` (torch-free at import, but it pulls in the
checkpoint module) is imported inside methods so that importing the window stays light.
"""

from __future__ import annotations

import html
import math
import os
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QFrame,
                               QGroupBox, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QProgressBar, QPushButton,
                               QScrollArea, QSizePolicy, QSpinBox, QSplitter, QStyle, QTableWidget, QTableWidgetItem,
                               QToolButton, QVBoxLayout, QWidget)

from ..core.architectures import ARCH_NAMES
from .train_worker import FolderScan, FolderScanner, TrainService

IMBALANCE_WARN = 1.5  # largest / smallest class above which the panel warns
MAX_SKIPPED_LISTED = 40

_BANNERS = {  # Done.reason -> (title, background, border, text colour)
    "completed": ("✔ Finished", "#e6f4ea", "#8cc79b", "#1e5e2f"),
    "early_stopping": ("✔ Stopped early", "#e6f4ea", "#8cc79b", "#1e5e2f"),
    "cancelled": ("■ Cancelled", "#fff4e0", "#f0c987", "#7a4b00"),
    "nan": ("✖ Stopped: the loss became NaN", "#fde8e8", "#eeb0b0", "#8a1c1c"),
    "error": ("✖ Training failed", "#fde8e8", "#eeb0b0", "#8a1c1c"),
}
_WARN_STYLE = "QLabel { background: #fff4e0; border: 1px solid #f0c987; border-radius: 3px; padding: 4px; color: #7a4b00; }"
_REFUSE_STYLE = "QLabel { background: #fde8e8; border: 1px solid #eeb0b0; border-radius: 3px; padding: 4px; color: #8a1c1c; }"


def format_seconds(seconds: float) -> str:
    if not math.isfinite(seconds) or seconds < 0:
        return "–"
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


class TrainPanel(QWidget):
    """``set_folder(path)``, the option widgets, ``start()`` / ``cancel()``; ``training_finished(done)``
    says a run ended (Done, or None after an error); ``use_model_requested(path)`` asks the window
    to classify with the new checkpoint."""

    use_model_requested = Signal(str)
    training_finished = Signal(object)
    folder_scanned = Signal(object)  # FolderScan

    def __init__(self, settings=None, parent=None) -> None:
        super().__init__(parent)
        self.settings = settings  # AppSettings or None
        self.device_provider = lambda: "auto"  # the window passes its device selector
        self.service = TrainService(self)
        self.scanner = FolderScanner(self)
        self.scan: FolderScan | None = None
        self.current_model: tuple[str, str, int] | None = None  # (path, arch, input size) of the window's model
        self.imagenet_cached: dict[str, bool] = {}
        self.classes: list[str] = []
        self.epochs_seen: list = []  # EpochEnd events of the current run
        self.last_done = None  # core Done of the last run
        self.last_error = ""
        self.last_traceback = ""
        self._start_touched = False  # the user chose "Start from": defaults no longer move it
        self._out_custom = False  # the user chose the output path
        self._updating = False
        self.setAcceptDrops(True)
        self._build_ui()
        self._connect()
        self._fill_start_combo()
        self._apply_defaults(reset_mode=True)
        self._set_running(False)
        self._update_start_enabled()

    # ================================================================ building

    def _build_ui(self) -> None:
        SP = QStyle.StandardPixmap
        style = self.style()

        # ---- 1. photos
        self.folder_edit = QLineEdit()
        self.folder_edit.setPlaceholderText("A folder with one subfolder per class")
        self.folder_edit.setClearButtonEnabled(True)
        self.browse_button = QPushButton(style.standardIcon(SP.SP_DirOpenIcon), "Choose…")
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder_edit, 1)
        folder_row.addWidget(self.browse_button)
        self.class_table = QTableWidget(0, 4)
        self.class_table.setHorizontalHeaderLabels(["Class", "Images", "Train", "Val"])
        self.class_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.class_table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.class_table.verticalHeader().hide()
        header = self.class_table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in (1, 2, 3):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.class_table.setMinimumHeight(110)
        self.data_label = QLabel("Choose or drop a folder: one subfolder per class (e.g. daisy/, roses/), "
                                 "or train/ and val/ folders holding those.")
        self.data_label.setWordWrap(True)
        self.warning_label = QLabel()
        self.warning_label.setWordWrap(True)
        self.warning_label.setStyleSheet(_WARN_STYLE)
        self.refusal_label = QLabel()
        self.refusal_label.setWordWrap(True)
        self.refusal_label.setStyleSheet(_REFUSE_STYLE)
        self.refusal_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        data_box = QGroupBox("1 · Photos")
        data_layout = QVBoxLayout(data_box)
        data_layout.addLayout(folder_row)
        data_layout.addWidget(self.class_table, 1)
        data_layout.addWidget(self.data_label)
        data_layout.addWidget(self.warning_label)
        data_layout.addWidget(self.refusal_label)

        # ---- 2. options
        self.arch_combo = QComboBox()
        self.arch_combo.addItems(list(ARCH_NAMES))
        self.arch_combo.setToolTip("Bigger networks learn more but train slower (resnet18 is the fastest)")
        self.start_combo = QComboBox()
        self.start_combo.setToolTip("The weights training starts from; pretrained weights need far fewer photos")
        self.mode_combo = QComboBox()
        self.mode_combo.addItem("Last layer only (fast)", "head")
        self.mode_combo.addItem("Whole network", "full")
        self.mode_combo.setToolTip("Last layer only: the pretrained network stays frozen, seconds per epoch.\n"
                                   "Whole network: slower, better when the photos differ from ImageNet's.")
        self.epochs_spin = QSpinBox(minimum=1, maximum=500)
        self.size_spin = QSpinBox(minimum=32, maximum=512, singleStep=16)
        self.size_spin.setSuffix(" px")
        self.size_spin.setToolTip("Side of the square crop fed to the network")
        self.val_spin = QDoubleSpinBox(minimum=5, maximum=50, singleStep=5, decimals=0)
        self.val_spin.setSuffix(" %")
        self.val_spin.setToolTip("Share of each class held out to measure accuracy (unless the folder has val/)")
        self.out_edit = QLineEdit()
        self.out_edit.setToolTip("Where the best model is saved (rewritten after each improvement)")
        self.out_button = QToolButton()
        self.out_button.setText("…")
        self.out_button.setToolTip("Choose where to save the model")
        out_row = QHBoxLayout()
        out_row.addWidget(self.out_edit, 1)
        out_row.addWidget(self.out_button)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Architecture", self.arch_combo)
        form.addRow("Start from", self.start_combo)
        form.addRow("Train", self.mode_combo)
        form.addRow("Epochs", self.epochs_spin)
        form.addRow("Image size", self.size_spin)
        form.addRow("Validation", self.val_spin)
        form.addRow("Save to", out_row)
        # advanced (collapsed)
        self.advanced_button = QToolButton()
        self.advanced_button.setText("Advanced")
        self.advanced_button.setCheckable(True)
        self.advanced_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.advanced_button.setArrowType(Qt.ArrowType.RightArrow)
        self.advanced_button.setAutoRaise(True)
        self.batch_spin = QSpinBox(minimum=1, maximum=1024)
        self.lr_spin = QDoubleSpinBox(minimum=0.0, maximum=1.0, decimals=5, singleStep=0.0001)
        self.lr_spin.setSpecialValueText("auto")
        self.lr_spin.setToolTip("Peak learning rate; auto picks one for the mode")
        self.advanced = QWidget()
        adv_form = QFormLayout(self.advanced)
        adv_form.setContentsMargins(0, 0, 0, 0)
        adv_form.addRow("Batch size", self.batch_spin)
        adv_form.addRow("Learning rate", self.lr_spin)
        self.advanced.setVisible(False)
        options_box = QGroupBox("2 · Options")
        options_layout = QVBoxLayout(options_box)
        options_layout.addLayout(form)
        options_layout.addWidget(self.advanced_button)
        options_layout.addWidget(self.advanced)

        # ---- 3. start / cancel
        self.start_button = QPushButton(style.standardIcon(SP.SP_MediaPlay), "Start training")
        self.start_button.setDefault(True)
        self.cancel_button = QPushButton(style.standardIcon(SP.SP_BrowserStop), "Cancel")
        self.cancel_button.setToolTip("Stop after the current batch; the best model so far is kept")
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button, 1)
        buttons.addWidget(self.cancel_button)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 4, 0)
        left_layout.addWidget(data_box, 1)
        left_layout.addWidget(options_box)
        left_layout.addLayout(buttons)
        scroll = QScrollArea()
        scroll.setWidget(left)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(250)
        scroll.setMaximumWidth(430)

        # ---- right: progress, curves, result
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.setFormat("")
        self.rate_label = QLabel()
        self.rate_label.setMinimumWidth(120)
        self.rate_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        progress_row = QHBoxLayout()
        progress_row.addWidget(self.progress, 1)
        progress_row.addWidget(self.rate_label)
        self.status_label = QLabel("Not started.")
        self.status_label.setWordWrap(True)
        self.status_label.setStyleSheet("color: palette(dark);")
        self.skipped_label = QLabel()
        self.skipped_label.setStyleSheet(_WARN_STYLE)

        from .training_views import ConfusionMatrixView, CurveChart

        self.loss_chart = CurveChart("Loss")
        self.acc_chart = CurveChart("Accuracy", percent=True)
        charts = QWidget()
        charts_layout = QHBoxLayout(charts)
        charts_layout.setContentsMargins(0, 0, 0, 0)
        charts_layout.addWidget(self.loss_chart)
        charts_layout.addWidget(self.acc_chart)

        self.result_label = QLabel()
        self.result_label.setWordWrap(True)
        self.result_label.setTextFormat(Qt.TextFormat.RichText)
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.confusion = ConfusionMatrixView()
        self.confusion.setMinimumHeight(90)
        confusion_title = QLabel("<b>Confusion matrix</b> on the validation images of the best epoch "
                                 "<span style='color:gray'>(rows: true class · columns: predicted)</span>")
        confusion_title.setWordWrap(True)
        self.use_button = QPushButton(style.standardIcon(SP.SP_DialogApplyButton), "Use this model for classification")
        self.use_button.setToolTip("Load the trained model in the Classify tab")
        use_row = QHBoxLayout()
        use_row.addWidget(self.result_label, 1)
        use_row.addWidget(self.use_button, 0, Qt.AlignmentFlag.AlignTop)
        result = QWidget()
        result_layout = QVBoxLayout(result)
        result_layout.setContentsMargins(0, 0, 0, 0)
        result_layout.addLayout(use_row)
        result_layout.addWidget(confusion_title)
        result_layout.addWidget(self.confusion, 1)
        self.result_box = result

        self.right_splitter = QSplitter(Qt.Orientation.Vertical)
        self.right_splitter.addWidget(charts)
        self.right_splitter.addWidget(result)
        self.right_splitter.setStretchFactor(0, 3)
        self.right_splitter.setStretchFactor(1, 2)
        self.right_splitter.setChildrenCollapsible(False)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(4, 0, 0, 0)
        right_layout.addLayout(progress_row)
        right_layout.addWidget(self.status_label)
        right_layout.addWidget(self.skipped_label)
        right_layout.addWidget(self.right_splitter, 1)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addWidget(scroll)
        layout.addWidget(right, 1)
        self._show_scan(None)
        self._clear_results()

    def _connect(self) -> None:
        self.browse_button.clicked.connect(self.choose_folder)
        self.folder_edit.editingFinished.connect(self._on_folder_edited)
        self.out_button.clicked.connect(self.choose_output)
        self.out_edit.textEdited.connect(lambda _: setattr(self, "_out_custom", True))
        self.arch_combo.currentIndexChanged.connect(self._on_arch_changed)
        self.start_combo.currentIndexChanged.connect(self._on_start_changed)
        self.mode_combo.currentIndexChanged.connect(self._on_mode_changed)
        self.advanced_button.toggled.connect(self._toggle_advanced)
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.use_button.clicked.connect(self._use_model)
        self.scanner.scanned.connect(self._on_scanned)
        self.scanner.imagenet_probed.connect(self._on_imagenet_probed)
        s = self.service
        s.stage.connect(self._on_stage)
        s.data_ready.connect(self._on_data_ready)
        s.progress.connect(self._on_progress)
        s.epoch_end.connect(self._on_epoch_end)
        s.errored.connect(self._on_errored)
        s.finished.connect(self._on_finished)

    # ================================================================ public API

    @property
    def running(self) -> bool:
        return self.service.running

    def set_folder(self, path: str | os.PathLike) -> None:
        """Scan ``path`` in the background; the class table and Start follow."""
        path = str(path)
        if self.folder_edit.text() != path:
            self.folder_edit.setText(path)
        self.scan = None
        self._show_scan(None)
        if not path:
            return
        self.data_label.setText("Looking at the folder…")
        if self.settings is not None:
            self.settings.train_folder = str(Path(path).parent)
        self._update_default_output()
        self.scanner.scan(path)
        self.scanner.probe_imagenet()

    def set_current_model(self, summary) -> None:
        """The window's loaded model (a ModelSummary) becomes a "Start from" choice."""
        self.current_model = (summary.source, summary.arch, summary.image_size) if summary is not None else None
        self._fill_start_combo()

    def config(self):
        """The TrainConfig the widgets describe (what Start runs)."""
        from ..core.training import TrainConfig

        start = self._start_value()
        lr = self.lr_spin.value()
        return TrainConfig(
            data_dir=self.folder_edit.text(), out=self.out_edit.text(),
            arch=None if start not in ("imagenet", "scratch") else self.arch_combo.currentText(),
            start=start, mode=self.mode_combo.currentData(), epochs=self.epochs_spin.value(),
            image_size=self.size_spin.value(), batch_size=self.batch_spin.value(),
            val_split=self.val_spin.value() / 100.0, lr=lr if lr > 0 else None, device=self.device_provider())

    def start(self) -> bool:
        """Start training with the chosen options; False (and nothing started) if it cannot."""
        if self.running or self.scan is None or self.scan.error or not self.out_edit.text().strip():
            return False
        cfg = self.config()
        self.classes = list(self.scan.classes)
        self.epochs_seen = []
        self.last_done = None
        self.last_error = self.last_traceback = ""
        self._clear_results()
        self.loss_chart.clear(cfg.epochs)
        self.acc_chart.clear(cfg.epochs)
        self.progress.setRange(0, 0)
        self.progress.setFormat("Starting…")
        self.rate_label.clear()
        self.status_label.setText("Starting (the first run also loads PyTorch)…")
        self.service.start(cfg)
        self._set_running(True)
        return True

    def cancel(self) -> None:
        if self.running and not self.service.cancelling:
            self.service.cancel()
            self.cancel_button.setEnabled(False)
            self.status_label.setText("Cancelling after the current batch… (the best model so far is kept)")

    def shutdown(self) -> bool:
        """Cancel any run and wait for the threads (the window calls this when closing)."""
        ok = self.service.shutdown()
        return self.scanner.shutdown() and ok

    def points(self) -> dict[str, dict[str, list[tuple[float, float]]]]:
        """What the curves show: {"loss": {"train": [(epoch, v)], "val": [...]}, "accuracy": {...}}."""
        return {"loss": self.loss_chart.points(), "accuracy": self.acc_chart.points()}

    def class_counts(self) -> dict[str, int]:
        """Class -> images, as the table shows them."""
        t = self.class_table
        return {t.item(r, 0).text(): int(t.item(r, 1).text()) for r in range(t.rowCount())}

    # ================================================================ dialogs and drops

    def choose_folder(self) -> None:
        start = self.folder_edit.text() or (self.settings.train_folder if self.settings is not None else "")
        folder = QFileDialog.getExistingDirectory(self, "Folder of labeled photos (one subfolder per class)",
                                                  start or str(Path.home()))
        if folder:
            self.set_folder(folder)

    def choose_output(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save the trained model as", self.out_edit.text(),
                                              "PyTorch checkpoint (*.pt)")
        if path:
            if not Path(path).suffix:
                path += ".pt"
            self.out_edit.setText(path)
            self._out_custom = True

    def dragEnterEvent(self, event) -> None:
        if self._dropped_folder(event) and not self.running:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:
        self.dragEnterEvent(event)

    def dropEvent(self, event) -> None:
        folder = self._dropped_folder(event)
        if folder and not self.running:
            event.acceptProposedAction()
            self.set_folder(folder)
        else:
            event.ignore()

    @staticmethod
    def _dropped_folder(event) -> str:
        urls = [u for u in event.mimeData().urls() if u.isLocalFile()] if event.mimeData().hasUrls() else []
        if len(urls) == 1 and Path(urls[0].toLocalFile()).is_dir():
            return urls[0].toLocalFile()
        return ""

    # ================================================================ options and defaults

    def _start_value(self) -> str:
        value = self.start_combo.currentData()
        if value == "current" and self.current_model:
            return self.current_model[0]
        return value or "scratch"

    def _fill_start_combo(self) -> None:
        previous = self.start_combo.currentData()
        arch = self.arch_combo.currentText()
        self._updating = True
        self.start_combo.clear()
        if self.current_model:
            self.start_combo.addItem(f"Current model ({Path(self.current_model[0]).name})", "current")
            self.start_combo.setItemData(0, self.current_model[0], Qt.ItemDataRole.ToolTipRole)
        cached = self.imagenet_cached.get(arch)
        label = {True: "ImageNet weights (cached)", False: "ImageNet weights (downloads once)"}.get(cached, "ImageNet weights")
        self.start_combo.addItem(label, "imagenet")
        self.start_combo.addItem("Random (from scratch)", "scratch")
        if self._start_touched and previous is not None and self.start_combo.findData(previous) >= 0:
            wanted = previous
        else:  # ImageNet if cached, else the window's model (its features beat random ones), else scratch
            wanted = "imagenet" if cached else ("current" if self.current_model else "scratch")
        self.start_combo.setCurrentIndex(self.start_combo.findData(wanted))
        self._updating = False
        if self.start_combo.currentData() != previous:
            self._apply_defaults(reset_mode=True)

    def _apply_defaults(self, reset_mode: bool) -> None:
        """Fill mode, epochs, image size, batch size and learning rate as TrainConfig.resolved() would."""
        from ..core.training import TrainConfig

        start = self._start_value()
        from_current = self.start_combo.currentData() == "current"
        self._updating = True
        if from_current and self.current_model:
            index = self.arch_combo.findText(self.current_model[1])
            if index >= 0:
                self.arch_combo.setCurrentIndex(index)
        self.arch_combo.setEnabled(not from_current and not self.running)
        mode = None if reset_mode else self.mode_combo.currentData()
        arch = self.arch_combo.currentText() if not from_current else None
        c = TrainConfig(data_dir="", out="", arch=arch, start=start, mode=mode).resolved()
        self.mode_combo.setCurrentIndex(self.mode_combo.findData(c.mode))
        self.epochs_spin.setValue(c.epochs)
        # from the window's model: its own input size (what TrainConfig does for a weights file)
        self.size_spin.setValue(c.image_size or (self.current_model[2] if from_current and self.current_model else 224))
        self.batch_spin.setValue(c.batch_size)
        self.lr_spin.setValue(0.0)  # auto: c.lr for this mode
        self.lr_spin.setToolTip(f"Peak learning rate; auto = {c.lr:g} for this mode")
        self.val_spin.setValue(round(c.val_split * 100))
        self._updating = False
        self._update_default_output()

    def _on_start_changed(self, _index: int) -> None:
        if self._updating:
            return
        self._start_touched = True
        self._apply_defaults(reset_mode=True)

    def _on_mode_changed(self, _index: int) -> None:
        if not self._updating:
            self._apply_defaults(reset_mode=False)

    def _on_arch_changed(self, _index: int) -> None:
        if self._updating:
            return
        self._fill_start_combo()  # "(cached)" depends on the architecture
        self._update_default_output()

    def _on_imagenet_probed(self, found: dict) -> None:
        self.imagenet_cached = dict(found)
        if not self.running:
            self._fill_start_combo()

    def _toggle_advanced(self, shown: bool) -> None:
        self.advanced.setVisible(shown)
        self.advanced_button.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)

    def _default_output(self) -> str:
        from ..paths import user_data_dir

        folder = Path(self.folder_edit.text() or "model")
        arch = self.arch_combo.currentText()
        name = folder.name or "model"
        base = user_data_dir() / "models" / f"{name}-{arch}"
        path, n = base.with_suffix(".pt"), 2
        while path.exists():  # never silently replace an earlier model
            path = base.with_name(f"{base.name}-{n}.pt")
            n += 1
        return str(path)

    def _update_default_output(self) -> None:
        if not self._out_custom and not self.running and self.folder_edit.text():
            self.out_edit.setText(self._default_output())
            self.out_edit.setCursorPosition(0)

    def _on_folder_edited(self) -> None:
        text = self.folder_edit.text().strip()
        if text != (self.scan.path if self.scan else "") and not self.running:
            self.set_folder(text)

    # ================================================================ folder scan

    def _on_scanned(self, scan: FolderScan) -> None:
        if scan.path != self.folder_edit.text():
            return  # the user typed another folder meanwhile
        self.scan = scan
        self._show_scan(scan)
        self.folder_scanned.emit(scan)

    def _show_scan(self, scan: FolderScan | None) -> None:
        t = self.class_table
        t.setRowCount(0)
        self.warning_label.hide()
        self.refusal_label.hide()
        if scan is None:
            self._update_start_enabled()
            return
        if scan.error:
            self.data_label.setText("This folder cannot be used for training:")
            self.refusal_label.setText(scan.error)
            self.refusal_label.show()
            self._update_start_enabled()
            return
        t.setRowCount(len(scan.classes))
        for r, (name, n) in enumerate(zip(scan.classes, scan.counts)):
            t.setItem(r, 0, QTableWidgetItem(name))
            count = QTableWidgetItem(str(n))
            count.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            t.setItem(r, 1, count)
        total = sum(scan.counts)
        split = ("validation: the folder's val/ images" if scan.split_from != "folder"
                 else "validation: a share of each class, held out at random")
        self.data_label.setText(f"<b>{len(scan.classes)} classes</b>, {total} images · {split}")
        self.val_spin.setEnabled(scan.split_from == "folder" and not self.running)
        if scan.imbalance > IMBALANCE_WARN:
            big = scan.classes[scan.counts.index(max(scan.counts))]
            small = scan.classes[scan.counts.index(min(scan.counts))]
            self.warning_label.setText(
                f"⚠ Imbalanced: {big} has {scan.imbalance:.1f}× as many images as {small} "
                f"({max(scan.counts)} vs {min(scan.counts)}). Training weights the classes to compensate; "
                "more photos of the small classes would help more.")
            self.warning_label.show()
        self._update_start_enabled()

    def _update_start_enabled(self) -> None:
        ok = self.scan is not None and not self.scan.error and not self.running
        self.start_button.setEnabled(ok)
        if self.scan is None:
            self.start_button.setToolTip("Choose a folder of labeled photos first")
        elif self.scan.error:
            self.start_button.setToolTip("This folder cannot be trained on: " + self.scan.error)
        else:
            self.start_button.setToolTip("Start fine-tuning in the background")

    # ================================================================ training signals

    def _on_stage(self, event) -> None:
        self.status_label.setText(event.message[:1].upper() + event.message[1:] + "…")
        self.progress.setRange(0, 0)
        self.progress.setFormat(event.message)

    def _on_data_ready(self, event) -> None:
        self.classes = list(event.classes)
        t = self.class_table
        rows = {t.item(r, 0).text(): r for r in range(t.rowCount())}
        for name, n_train, n_val in zip(event.classes, event.train_counts, event.val_counts):
            r = rows.get(name)
            if r is None:
                continue
            for col, n in ((2, n_train), (3, n_val)):
                item = QTableWidgetItem(str(n))
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                t.setItem(r, col, item)
        self.status_label.setText(event.message[:1].upper() + event.message[1:])
        self.status_label.setToolTip(event.message)
        if event.skipped:
            n = len(event.skipped)
            self.skipped_label.setText(f"⚠ Skipped {n} unreadable image{'s' if n != 1 else ''} "
                                       "(hover for the list)")
            listed = [f"{Path(p).name}: {reason}" for p, reason in event.skipped[:MAX_SKIPPED_LISTED]]
            if n > MAX_SKIPPED_LISTED:
                listed.append(f"… and {n - MAX_SKIPPED_LISTED} more")
            self.skipped_label.setToolTip("\n".join(listed))
            self.skipped_label.show()
        self.skipped = list(event.skipped)

    def _on_progress(self, e) -> None:
        total = max(1, e.epochs * e.batches)
        self.progress.setRange(0, total)
        self.progress.setValue((e.epoch - 1) * e.batches + e.batch)
        self.progress.setFormat(f"Epoch {e.epoch}/{e.epochs} · batch {e.batch}/{e.batches}")
        eta = format_seconds(e.eta_seconds)
        self.rate_label.setText(f"{e.images_per_second:.0f} images/s · ETA {eta}")
        if not self.service.cancelling:
            self.status_label.setText(f"Training: loss {e.loss:.3f}")

    def _on_epoch_end(self, e) -> None:
        self.epochs_seen.append(e)
        self.loss_chart.add_epoch(e.epoch, e.train_loss, e.val_loss)
        self.acc_chart.add_epoch(e.epoch, e.train_acc, e.val_acc)
        saved = " · best so far, saved" if e.improved else ""
        if not self.service.cancelling:
            self.status_label.setText(f"Epoch {e.epoch}/{e.epochs}: validation accuracy {e.val_acc:.1%}, "
                                      f"loss {e.val_loss:.3f} ({e.seconds:.1f} s){saved}")

    def _on_errored(self, message: str, details: str) -> None:
        self.last_error, self.last_traceback = message, details
        self._show_banner("error", message, details)

    def _on_finished(self, done) -> None:
        self._set_running(False)
        self.rate_label.clear()
        self.last_done = done
        if done is None:  # errored: the banner says why
            self.progress.setRange(0, 1)
            self.progress.setValue(0)
            self.progress.setFormat("Failed")
            self.status_label.setText("Training failed.")
        else:
            self.progress.setFormat(f"{done.reason.replace('_', ' ').capitalize()}")
            if done.reason == "completed":
                self.progress.setRange(0, 1)
                self.progress.setValue(1)
            self._show_banner(done.reason, done.message)
            if done.confusion:
                self.confusion.set_confusion(self.classes, done.confusion, done.per_class_acc)
            self.use_button.setEnabled(bool(done.checkpoint))
            self.use_button.setToolTip(done.checkpoint or "Nothing was saved")
            self.status_label.setText("Done." if done.checkpoint else "Done; no model was saved.")
        self._update_default_output()  # the next run does not replace this model
        self.training_finished.emit(done)

    def _show_banner(self, reason: str, message: str, details: str = "") -> None:
        title, background, border, colour = _BANNERS.get(reason, _BANNERS["error"])
        self.result_label.setStyleSheet(f"QLabel {{ background: {background}; border: 1px solid {border}; "
                                        f"border-radius: 3px; padding: 6px; color: {colour}; }}")
        self.result_label.setText(f"<b>{html.escape(title)}</b><br>{html.escape(message)}")
        self.result_label.setToolTip(details)
        self.result_label.show()

    def _use_model(self) -> None:
        if self.last_done is not None and self.last_done.checkpoint:
            self.use_model_requested.emit(self.last_done.checkpoint)

    # ================================================================ view state

    def _clear_results(self) -> None:
        self.result_label.hide()
        self.result_label.clear()
        self.skipped_label.hide()
        self.skipped = []
        self.confusion.set_confusion([], [], {})
        self.use_button.setEnabled(False)

    def _set_running(self, running: bool) -> None:
        for widget in (self.folder_edit, self.browse_button, self.start_combo, self.mode_combo, self.epochs_spin,
                       self.size_spin, self.out_edit, self.out_button, self.batch_spin, self.lr_spin):
            widget.setEnabled(not running)
        self.arch_combo.setEnabled(not running and self.start_combo.currentData() != "current")
        self.val_spin.setEnabled(not running and (self.scan is None or self.scan.split_from == "folder"))
        self.cancel_button.setEnabled(running)
        self._update_start_enabled()
