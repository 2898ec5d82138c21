"""The Fine-tune page's left column: the folder and its classes, the options, Start / Cancel.

:class:`TrainForm` builds the :class:`TrainConfig` that Start runs. Its defaults are the
core's: ``TrainConfig.resolve(fallback_start=<the window's model>)`` picks the start and every
other default (starts.py), so the page and the CLI cannot disagree.
"""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel,
                               QLineEdit, QPushButton, QSpinBox, QStyle, QToolButton, QVBoxLayout, QWidget)

from ...core.model.architectures import ARCH_NAMES
from ...core.train.config import TEACHER, TrainConfig
from ..styles import ERROR_STYLE, WARN_STYLE, plain_tooltip
from . import starts
from .class_table import ClassTable
from .jobs import FolderScan

IMBALANCE_WARN = 1.5  # largest / smallest class above which the form warns


def _note_label(style: str = "", plain: bool = True) -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    label.setStyleSheet(style)
    if plain:  # it shows class names or paths, which may look like HTML
        label.setTextFormat(Qt.TextFormat.PlainText)
    return label


class TrainForm(QWidget):
    """``set_folder`` / ``show_scan`` / ``show_split`` fill the class table; ``config(device)``
    is what Start runs. ``folder_chosen(path)``: the user picked or typed a folder."""

    folder_chosen = Signal(str)

    def __init__(self, settings=None, parent=None) -> None:
        super().__init__(parent)
        self.settings = settings  # AppSettings or None: remembers where folders were chosen
        self.scan: FolderScan | None = None
        self.current_model: tuple[str, str, int] | None = None  # (path, arch, input size) of the window's model
        self.imagenet_cached: dict[str, bool] = {}  # {} until probed: unknown
        self._start_touched = False  # the user chose "Start from": defaults no longer move it
        self._out_custom = False  # the user chose the output path
        self._running = False
        self._build()
        self._connect()
        self._fill_start_combo()
        self._apply_defaults(reset_mode=True)
        self.set_running(False)

    def _build(self) -> None:
        data_box, options_box = self._build_photos(), self._build_options()
        self._build_buttons()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 4, 0)
        layout.addWidget(data_box, 1)
        layout.addWidget(options_box)
        self.show_scan(None)

    def _build_photos(self) -> QGroupBox:
        """1 · Photos: the folder, its classes and what the scan found."""
        self.folder_edit = QLineEdit()
        self.folder_edit.setPlaceholderText("A folder with one subfolder per class")
        self.folder_edit.setClearButtonEnabled(True)
        self.browse_button = QPushButton(self.style().standardIcon(QStyle.StandardPixmap.SP_DirOpenIcon), "Choose…")
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder_edit, 1)
        folder_row.addWidget(self.browse_button)
        self.class_table = ClassTable()
        self.data_label = _note_label(plain=False)  # counts only; never a name
        self.warning_label = _note_label(WARN_STYLE)
        self.refusal_label = _note_label(ERROR_STYLE)
        self.refusal_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        data_box = QGroupBox("1 · Photos")
        data_layout = QVBoxLayout(data_box)
        data_layout.addLayout(folder_row)
        data_layout.addWidget(self.class_table, 1)
        for label in (self.data_label, self.warning_label, self.refusal_label):
            data_layout.addWidget(label)
        return data_box

    def _build_options(self) -> QGroupBox:
        """2 · Options: architecture, start, mode, epochs, size, validation, output; Advanced folded."""
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
        for label, field in (("Architecture", self.arch_combo), ("Start from", self.start_combo),
                             ("Train", self.mode_combo), ("Epochs", self.epochs_spin),
                             ("Image size", self.size_spin), ("Validation", self.val_spin), ("Save to", out_row)):
            form.addRow(label, field)
        options_box = QGroupBox("2 · Options")
        options_layout = QVBoxLayout(options_box)
        options_layout.addLayout(form)
        self.start_note = _note_label()  # what the start is and why (TrainConfig.describe_start)
        options_layout.addWidget(self.start_note)
        self._build_advanced(options_layout)
        return options_box

    def _build_advanced(self, layout: QVBoxLayout) -> None:
        """Batch size and learning rate, under a collapsed Advanced button."""
        self.advanced_button = QToolButton()
        self.advanced_button.setText("Advanced")
        self.advanced_button.setCheckable(True)
        self.advanced_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.advanced_button.setArrowType(Qt.ArrowType.RightArrow)
        self.advanced_button.setAutoRaise(True)
        self.batch_spin = QSpinBox(minimum=1, maximum=1024)
        self.lr_spin = QDoubleSpinBox(minimum=0.0, maximum=1.0, decimals=5, singleStep=0.0001)
        self.lr_spin.setSpecialValueText("auto")
        self.advanced = QWidget()
        adv_form = QFormLayout(self.advanced)
        adv_form.setContentsMargins(0, 0, 0, 0)
        adv_form.addRow("Batch size", self.batch_spin)
        adv_form.addRow("Learning rate", self.lr_spin)
        self.advanced.setVisible(False)
        layout.addWidget(self.advanced_button)
        layout.addWidget(self.advanced)

    def _build_buttons(self) -> None:
        """3 · Start / Cancel, in a row the page places below the scrolling form."""
        icon = self.style().standardIcon
        self.start_button = QPushButton(icon(QStyle.StandardPixmap.SP_MediaPlay), "Start training")
        self.start_button.setDefault(True)
        self.cancel_button = QPushButton(icon(QStyle.StandardPixmap.SP_BrowserStop), "Cancel")
        self.cancel_button.setToolTip("Stop after the current batch; the best model so far is kept")
        self.buttons = QHBoxLayout()  # the page keeps them in view, below the scrolling form
        self.buttons.addWidget(self.start_button, 1)
        self.buttons.addWidget(self.cancel_button)

    def _connect(self) -> None:
        self.browse_button.clicked.connect(self.choose_folder)
        self.folder_edit.editingFinished.connect(self._on_folder_edited)
        self.out_button.clicked.connect(self.choose_output)
        self.out_edit.textEdited.connect(lambda _: setattr(self, "_out_custom", True))
        self.arch_combo.currentIndexChanged.connect(self._on_arch_changed)
        self.start_combo.currentIndexChanged.connect(self._on_start_changed)
        self.mode_combo.currentIndexChanged.connect(lambda _: self._apply_defaults(reset_mode=False))
        self.advanced_button.toggled.connect(self._toggle_advanced)

    # ================================================================ what the page sets

    def set_folder(self, path: str) -> None:
        """A new folder: its scan is on the way (``show_scan`` follows)."""
        if self.folder_edit.text() != path:
            self.folder_edit.setText(path)
        self.show_scan(None)
        if path:
            self.data_label.setText("Looking at the folder…")
            if self.settings is not None:
                self.settings.train_folder = str(Path(path).parent)
            self.refresh_output()

    def set_model(self, info) -> None:
        """The window's model (a core ModelInfo, or None) becomes a "Start from" choice."""
        self.current_model = (info.source, info.arch, info.image_size) if info is not None else None
        self._fill_start_combo(new_model=True)

    def set_imagenet_cached(self, found: dict[str, bool]) -> None:
        self.imagenet_cached = dict(found)
        if not self._running:
            self._fill_start_combo()

    def set_running(self, running: bool) -> None:
        self._running = running
        for widget in (self.folder_edit, self.browse_button, self.start_combo, self.mode_combo, self.epochs_spin,
                       self.size_spin, self.out_edit, self.out_button, self.batch_spin, self.lr_spin):
            widget.setEnabled(not running)
        self.arch_combo.setEnabled(not running and self.start_combo.currentData() not in ("current", TEACHER))
        self.mode_combo.setEnabled(not running and self.start_combo.currentData() != TEACHER)
        self.val_spin.setEnabled(not running and (self.scan is None or self.scan.split_from == "folder"))
        self.cancel_button.setEnabled(running)
        self._update_start_enabled()

    def refresh_output(self) -> None:
        """A fresh default output path (never an existing file), unless the user chose one."""
        if not self._out_custom and not self._running and self.folder_edit.text():
            self.out_edit.setText(self._default_output())
            self.out_edit.setCursorPosition(0)

    # ================================================================ what the page reads

    @property
    def can_start(self) -> bool:
        return (self.scan is not None and not self.scan.error and not self._running
                and bool(self.out_edit.text().strip()))

    def config(self, device: str = "auto") -> TrainConfig:
        """The TrainConfig the widgets describe (what Start runs)."""
        start = self._start_value()
        lr = self.lr_spin.value()
        return TrainConfig(
            data_dir=self.folder_edit.text(), out=self.out_edit.text(),
            arch=None if start not in ("imagenet", "scratch") else self.arch_combo.currentText(),
            start=start, student=self._student() if start == TEACHER else None,
            mode=self.mode_combo.currentData(), epochs=self.epochs_spin.value(),
            image_size=self.size_spin.value(), batch_size=self.batch_spin.value(),
            val_split=self.val_spin.value() / 100.0, lr=lr if lr > 0 else None, device=device)

    def class_counts(self) -> dict[str, int]:
        """Class -> images, as the table shows them."""
        return self.class_table.counts()

    # ================================================================ dialogs

    def choose_folder(self) -> None:
        start = self.folder_edit.text() or (self.settings.train_folder if self.settings is not None else "")
        folder = QFileDialog.getExistingDirectory(self, "Folder of labeled photos (one subfolder per class)",
                                                  start or str(Path.home()))
        if folder:
            self.folder_chosen.emit(folder)

    def choose_output(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save the trained model as", self.out_edit.text(),
                                              "PyTorch checkpoint (*.pt)")
        if path:
            if not Path(path).suffix:
                path += ".pt"
            self.out_edit.setText(path)
            self._out_custom = True

    def _on_folder_edited(self) -> None:
        text = self.folder_edit.text().strip()
        if text != (self.scan.data_dir if self.scan else "") and not self._running:
            self.folder_chosen.emit(text)

    def _toggle_advanced(self, shown: bool) -> None:
        self.advanced.setVisible(shown)
        self.advanced_button.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)

    # ================================================================ defaults

    def _start_value(self) -> str:
        value = self.start_combo.currentData()
        if value == "current" and self.current_model:
            return self.current_model[0]
        return value or "scratch"

    def _default_start(self) -> str:
        return starts.default(self.current_model, bool(self.imagenet_cached), self.arch_combo.currentText())

    def _fill_start_combo(self, new_model: bool = False) -> None:
        previous = self.start_combo.currentData()
        with QSignalBlocker(self.start_combo):
            starts.fill(self.start_combo, self.current_model, self.imagenet_cached.get(self.arch_combo.currentText()),
                        self.arch_combo.currentText())
            keep = self._start_touched and previous is not None and self.start_combo.findData(previous) >= 0
            self.start_combo.setCurrentIndex(self.start_combo.findData(previous if keep else self._default_start()))
        if self.start_combo.currentData() != previous or (new_model and previous == TEACHER):  # a new student
            self._apply_defaults(reset_mode=True)

    def _apply_defaults(self, reset_mode: bool) -> None:
        """Fill mode, epochs, image size, batch size and learning rate as TrainConfig.resolve() does."""
        start = self._start_value()
        from_current = self.start_combo.currentData() == "current" and self.current_model is not None
        with QSignalBlocker(self.arch_combo), QSignalBlocker(self.mode_combo):
            if from_current:
                index = self.arch_combo.findText(self.current_model[1])
                if index >= 0:
                    self.arch_combo.setCurrentIndex(index)
            self.arch_combo.setEnabled(not from_current and start != TEACHER and not self._running)
            mode = None if reset_mode else self.mode_combo.currentData()
            arch = None if from_current else self.arch_combo.currentText()
            if teacher := start == TEACHER:  # the student: the window's model (resolve: else the shipped one)
                mode, arch = "full", (self.current_model[1] if self.current_model else None)
            c = TrainConfig(data_dir="", out="", arch=arch, start=start, mode=mode, student=self._student()).resolve()
            self.mode_combo.setCurrentIndex(self.mode_combo.findData(c.mode))
        self.mode_combo.setEnabled(not teacher and not self._running)
        self.epochs_spin.setValue(c.epochs or starts.epochs(self.scan, self.val_spin.value()))
        # from a weights file resolve() leaves the size to that model: the window's model's own
        size = self.current_model[2] if (from_current or teacher) and self.current_model else (160 if teacher else 224)
        self.size_spin.setValue(c.image_size or size)
        is_default = not self._start_touched and self.start_combo.currentData() == self._default_start()
        self.start_note.setText(starts.describe(c, is_default))
        self.batch_spin.setValue(c.batch_size)
        self.lr_spin.setValue(0.0)  # auto: c.lr for this mode
        self.lr_spin.setToolTip(f"Peak learning rate; auto = {c.lr:g} for this mode")
        self.val_spin.setValue(round(c.val_split * 100))
        self.refresh_output()

    def _student(self) -> str | None:
        return self.current_model[0] if self.current_model else None

    def _on_start_changed(self, _index: int) -> None:
        self._start_touched = True
        self._apply_defaults(reset_mode=True)

    def _on_arch_changed(self, _index: int) -> None:
        self._fill_start_combo()  # "(cached)" depends on the architecture
        self.refresh_output()

    def _default_output(self) -> str:
        from .resume import output_base

        base = output_base(self.folder_edit.text(), self.arch_combo.currentText())
        from ...core.paths import first_free

        # never silently replace an earlier model; not with_suffix: a folder name may hold a dot
        return str(first_free(lambda n: base.with_name(base.name + ".pt") if n == 1 else base.with_name(f"{base.name}-{n}.pt")))

    # ================================================================ the folder's classes

    def show_scan(self, scan: FolderScan | None) -> None:
        """The classes and counts of a scanned folder (None: none yet), or why it is refused."""
        self.scan = scan
        self.class_table.show_classes([], [])
        self.warning_label.hide()
        self.refusal_label.hide()
        if scan is not None and scan.error:
            self.data_label.setText("This folder cannot be used for training:")
            self.refusal_label.setText(scan.error)
            self.refusal_label.show()
        elif scan is not None:
            self.class_table.show_classes(scan.classes, scan.counts)
            split = ("validation: the folder's val/ images" if scan.split_from != "folder"
                     else "validation: a share of each class, held out at random")
            note = f"<br>{html.escape(scan.note[:1].upper() + scan.note[1:])}" if scan.note else ""
            self.data_label.setText(f"<b>{len(scan.classes)} classes</b>, {sum(scan.counts)} images · {split}{note}")
            self.val_spin.setEnabled(scan.split_from == "folder" and not self._running)
            if scan.imbalance > IMBALANCE_WARN:
                self._warn_imbalance(scan)
            if self.start_combo.currentData() == TEACHER and not self._running:  # its schedule fits the folder
                self.epochs_spin.setValue(starts.epochs(self.scan, self.val_spin.value()))
        elif not self.folder_edit.text():
            self.data_label.setText("Choose or drop a folder: one subfolder per class (e.g. daisy/, roses/), "
                                    "or train/ and val/ folders holding those.")
        self._update_start_enabled()

    def _warn_imbalance(self, scan: FolderScan) -> None:
        big = scan.classes[scan.counts.index(max(scan.counts))]
        small = scan.classes[scan.counts.index(min(scan.counts))]
        self.warning_label.setText(
            f"⚠ Imbalanced: {big} has {scan.imbalance:.1f}× as many images as {small} "
            f"({max(scan.counts)} vs {min(scan.counts)}). Training weights the classes to compensate; "
            "more photos of the small classes would help more.")
        self.warning_label.show()

    def show_split(self, event) -> None:
        """The train / val columns, from the core's DataReady."""
        self.class_table.show_split(event)

    def _update_start_enabled(self) -> None:
        self.start_button.setEnabled(self.scan is not None and not self.scan.error and not self._running)
        if self.scan is None:
            self.start_button.setToolTip("Choose a folder of labeled photos first")
        elif self.scan.error:
            self.start_button.setToolTip(plain_tooltip("This folder cannot be trained on: " + self.scan.error))
        else:
            self.start_button.setToolTip("Start fine-tuning in the background")
