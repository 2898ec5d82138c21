"""The main window: menus, toolbar, the pages' tabs, the status bar and settings.

Each page (``classify/``, ``finetune/``, ``label/``, ``dataset_review/``; ``verdicts/`` holds the
photo-loop widgets the Classify page places) owns its views, its slots and its background
runner. What they share (the model, the device, the dataset) is the session state the window
makes and hands to each (``core/session.py``); the window only places the pages, routes drops
and the device choice, shows their messages and errors, relays "the dataset's photos changed",
and stops them when it closes. Nothing here imports torch.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (QApplication, QComboBox, QLabel, QMainWindow, QMessageBox, QStyle, QTabWidget,
                               QToolBar, QToolButton, QVBoxLayout, QWidget)

from ..constants import APP_TITLE, DEVICE_CHOICES, WEIGHT_SUFFIXES
from ..core.session import SessionState
from . import heap
from .classify.page import ClassifyPage
from .export_dialog import add_export_action
from .twin_panel import add_twin_action
from .finetune.page import FinetunePage
from .label.page import LabelPage
from .dataset_review.page import DatasetReviewPage
from .recent_menu import RecentWeightsMenu
from .settings import AppSettings

DEVICE_LABELS = {"auto": "Auto", "cpu": "CPU", "cuda": "CUDA (GPU)", "mps": "MPS (Apple GPU)"}


class MainWindow(QMainWindow):
    def __init__(self, settings: AppSettings | None = None, parent=None) -> None:
        super().__init__(parent)
        self.settings = settings or AppSettings()
        self.error_box: QMessageBox | None = None  # the last error dialog, while it is open
        self._closing = False
        self._fitted = False
        # what the pages share (the model in use, the device, the dataset): they observe it, never each other
        self.state = SessionState(device=self.settings.device, data_dir=self.settings.data_dir)
        self.classify_page = ClassifyPage(self.settings, state=self.state)
        self.finetune_page = FinetunePage(self.settings, state=self.state)
        self.label_page = LabelPage(self.settings, state=self.state)
        self.review_page = DatasetReviewPage(self.settings, state=self.state)  # mislabeled photos and duplicates
        self._build_ui()
        self._connect()
        self._restore_settings()
        QApplication.instance().aboutToQuit.connect(self._shutdown)

    # ================================================================ building

    def _build_ui(self) -> None:
        self.setWindowTitle(APP_TITLE)
        self.setAcceptDrops(True)
        self.resize(1180, 760)
        page = self.classify_page
        style = self.style()
        SP = QStyle.StandardPixmap

        def action(text, icon, slot, shortcut=None, tip=None) -> QAction:
            act = QAction(style.standardIcon(icon), text, self)
            act.triggered.connect(slot)
            if shortcut:
                act.setShortcut(shortcut)
            act.setToolTip(tip or text)
            return act

        # the platform's standard keys where one exists (Ctrl+W closes, as users expect)
        self.open_weights_action = action("Open &weights…", SP.SP_DialogOpenButton, page.models.choose_weights,
                                          QKeySequence("Ctrl+L"), f"Load a weights file ({' / '.join(WEIGHT_SUFFIXES)})")
        self.download_action = action("&Download ImageNet…", SP.SP_ArrowDown, page.models.choose_download,
                                      tip="Download torchvision's ImageNet weights for a ResNet")
        self.open_folder_action = action("Open &folder…", SP.SP_DirOpenIcon, page.runs.choose_folder,
                                         QKeySequence.StandardKey.Open, "Classify every image in a folder (recursively)")
        self.open_images_action = action("Open &images…", SP.SP_FileIcon, page.runs.choose_images,
                                         QKeySequence("Ctrl+Shift+O"), "Classify some image files")
        self.export_action = action("&Export CSV…", SP.SP_DialogSaveButton, page.runs.choose_export,
                                    QKeySequence.StandardKey.Save, "Save path, top-k labels and probabilities to a CSV file")
        self.export_action.setEnabled(False)
        self.rerun_action = action("Classify &again", SP.SP_BrowserReload, page.runs.classify_again,
                                   QKeySequence.StandardKey.Refresh, "Classify the last photos again with the current model")
        refresh = QKeySequence.keyBindings(QKeySequence.StandardKey.Refresh)  # F5 on most platforms
        self.rerun_action.setShortcuts(refresh + [k for k in [QKeySequence("Ctrl+R")] if k not in refresh])
        self.rerun_action.setEnabled(False)
        self.sort_action = action("&Sort into folders…", SP.SP_DirIcon, page.open_sort_dialog,
                                  tip="Copy (or move) the classified photos into one folder per class, with Undo")
        self.sort_action.setEnabled(False)
        self.recent_menu = RecentWeightsMenu(self.settings, lambda path: self.classify_page.use_model(path), self)

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
        topk_label = QLabel("  &Top-k ")
        topk_label.setBuddy(page.topk_spin)
        # Classify-only items, hidden on the other pages
        self.classify_only = [toolbar.addWidget(topk_label), toolbar.addWidget(page.topk_spin), toolbar.addSeparator()]
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
        menu.addAction(self.rerun_action)
        menu.addAction(self.export_action)
        self.export_model_action = add_export_action(menu, self)
        self.twin_action = add_twin_action(menu, self)
        menu.addAction(self.sort_action)
        menu.addSeparator()
        menu.addAction("&Close window", QKeySequence.StandardKey.Close, self.close)
        menu.addAction("&Quit", QKeySequence.StandardKey.Quit, self.close)
        # the dataset's Undo / Redo (labels, verdicts, review moves, class edits), named after the batch
        self.edit_menu = self.menuBar().addMenu("&Edit")
        self.undo_action = self.edit_menu.addAction("&Undo", self.label_page.undo_action.trigger)
        self.redo_action = self.edit_menu.addAction("&Redo", self.label_page.redo_action.trigger)
        self.edit_menu.aboutToShow.connect(self._update_edit_menu)

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.setTabBarAutoHide(True)
        self.tabs.addTab(page, "Classify")
        self.tabs.addTab(self.finetune_page, "Fine-tune")
        self.tabs.addTab(self.label_page, "Label")
        self.tabs.addTab(self.review_page, "Review")
        central = QWidget()
        central_layout = QVBoxLayout(central)
        central_layout.setContentsMargins(0, 0, 0, 0)
        central_layout.setSpacing(0)
        central_layout.addWidget(page.model_bar)  # above the tabs: the model both pages start from
        central_layout.addWidget(self.tabs, 1)
        self.setCentralWidget(central)
        self.statusBar().addPermanentWidget(page.run_status)
        self._build_view_menu()

    def _build_view_menu(self) -> None:
        menu = self.menuBar().addMenu("&View")
        for i, name in enumerate(("&Classify", "&Fine-tune", "&Label", "&Review")):
            menu.addAction(name, QKeySequence(f"Ctrl+{i + 1}"), lambda i=i: self.tabs.setCurrentIndex(i))
        menu.addSeparator()
        # Ctrl+Tab / Ctrl+Shift+Tab: the standard keys for the next and previous document
        menu.addAction("&Next page", QKeySequence.StandardKey.NextChild, lambda: self._step_page(1))
        previous = menu.addAction("&Previous page", lambda: self._step_page(-1))
        # shown as Ctrl+Shift+Tab (X11's own binding reads "Ctrl+Shift+Backtab"), both work
        bindings = QKeySequence.keyBindings(QKeySequence.StandardKey.PreviousChild)
        previous.setShortcuts([QKeySequence("Ctrl+Shift+Tab")] + [k for k in bindings if k != QKeySequence("Ctrl+Shift+Tab")])
        for act in menu.actions():
            act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)

    def _update_edit_menu(self) -> None:
        """The Label page's actions, which know the dataset's last batch, with this menu's mnemonics."""
        self.label_page.refresh()
        for mine, theirs in ((self.undo_action, self.label_page.undo_action),
                             (self.redo_action, self.label_page.redo_action)):
            key = theirs.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            # the key only shown ("\t"): a second action on it would make the Label page's ambiguous
            mine.setText("&" + theirs.text().replace("&", "&&") + f"\t{key}")
            mine.setEnabled(theirs.isEnabled())

    def _step_page(self, step: int) -> None:
        self.tabs.setCurrentIndex((self.tabs.currentIndex() + step) % self.tabs.count())

    def _on_page_changed(self, _index: int) -> None:
        on_classify = self.tabs.currentWidget() is self.classify_page
        for act in self.classify_only + [self.export_action]:
            act.setVisible(on_classify)

    def _connect(self) -> None:
        page = self.classify_page
        page.status_message.connect(self.statusBar().showMessage)
        page.error_occurred.connect(self._show_error)
        page.devices_found.connect(self._on_devices)
        page.results_arrived.connect(lambda: self.export_action.setEnabled(True))
        page.rerun_available.connect(self.rerun_action.setEnabled)
        page.model_loaded.connect(self._on_model_loaded)
        page.model_bar.engine_changed.connect(page.change_device)  # reopened on the chosen engine
        self.finetune_page.use_model_requested.connect(self._use_trained_model)
        self.finetune_page.twin.made.connect(page.twin_made)
        self.finetune_page.show_leaks_requested.connect(self._show_leaks)
        # one dataset for labeling and for the verdicts (self.state), and one undo history (Dataset.shared)
        self.label_page.dataset_edited.connect(page.refresh_dataset)
        page.dataset_edited.connect(self.label_page.refresh)
        self.review_page.dataset_edited.connect(self.label_page.refresh)
        self.review_page.status_message.connect(self.statusBar().showMessage)
        page.sortable.connect(self.sort_action.setEnabled)
        self.device_combo.currentIndexChanged.connect(self._on_device_changed)
        self.tabs.currentChanged.connect(self._on_page_changed)

    # ================================================================ devices and models

    def device(self) -> str:
        return self.device_combo.currentData() or "auto"

    def set_device(self, device: str) -> None:
        """Choose auto/cpu/cuda/mps (as the selector does: a loaded model moves there). CUDA and
        MPS are listed once the first model load has checked the machine; one asked for before
        that is added, and falls back to the CPU with a message if the machine lacks it."""
        if device not in DEVICE_CHOICES:
            device = "auto"
        if self.device_combo.findData(device) < 0:
            self.device_combo.addItem(DEVICE_LABELS[device], device)
        self.device_combo.setCurrentIndex(self.device_combo.findData(device))

    def _on_device_changed(self, _index: int) -> None:
        self.settings.device = self.state.device = self.device()  # the Classify page moves its model there

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

    def _on_model_loaded(self, info, _device: str) -> None:
        heap.settle()  # torch and the model are here for good: out of the garbage collector's walks
        self.setWindowTitle(f"{Path(info.source).name} — {APP_TITLE}")  # the pages observe self.state.model

    def _show_leaks(self, folder: str, groups: list) -> None:
        """The Fine-tune page's "Show them": the duplicate groups split across train and validation."""
        self.review_page.show_leaks(folder, groups)
        self.tabs.setCurrentWidget(self.review_page)

    def _use_trained_model(self, path: str) -> None:
        """The Fine-tune page's "use this model": classify with it."""
        self.classify_page.use_model(path)
        self.tabs.setCurrentWidget(self.classify_page)

    def _show_error(self, title: str, message: str, details: str = "") -> None:
        if self._closing:
            return
        if self.error_box is not None:
            self.error_box.close()
        box = QMessageBox(QMessageBox.Icon.Critical, title, message, QMessageBox.StandardButton.Ok, self)
        box.setTextFormat(Qt.TextFormat.PlainText)  # file and class names, shown as they are
        if details:
            box.setDetailedText(details)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.destroyed.connect(lambda *_: setattr(self, "error_box", None))
        self.error_box = box
        box.open()  # window-modal, does not block the event loop

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
        QTimer.singleShot(0, lambda: self.classify_page.open_paths(paths))

    def open_files(self, paths: list[str]) -> None:
        """Files and folders from a later launch ("Open with" in a file manager, handed over
        by gui/single_instance.py): the window comes to the front and opens them as a drop
        would, on the Classify page; no paths just brings the window forward."""
        if self.isMinimized():
            self.showNormal()
        self.raise_()
        self.activateWindow()
        if paths:
            self.tabs.setCurrentWidget(self.classify_page)
            self.classify_page.open_paths(list(paths))

    # ================================================================ settings and closing

    def _restore_settings(self) -> None:
        s = self.settings
        if not s.geometry.isEmpty():
            self.restoreGeometry(s.geometry)
            self.fit_to_screen()
        if not s.window_state.isEmpty():
            self.restoreState(s.window_state)
        self.classify_page.restore_settings()
        self.device_combo.blockSignals(True)
        self.set_device(s.device)
        self.device_combo.blockSignals(False)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self._fitted:  # the frame's size is known once shown (and a moment later with a WM)
            self._fitted = True
            self.fit_to_screen()
            QTimer.singleShot(0, self.fit_to_screen)

    def fit_to_screen(self) -> None:
        """Keep the window (frame, status bar and Cancel included) on the screen it is on: a
        geometry saved on a big monitor must not run off a small laptop screen."""
        screen = self.screen() or QApplication.primaryScreen()
        if screen is None or self.isMaximized() or self.isFullScreen():
            return
        room = screen.availableGeometry()
        frame = self.frameGeometry()
        extra_w, extra_h = frame.width() - self.width(), frame.height() - self.height()
        width = min(self.width(), room.width() - extra_w)
        height = min(self.height(), room.height() - extra_h)
        if (width, height) != (self.width(), self.height()):
            self.resize(max(width, self.minimumWidth()), max(height, self.minimumHeight()))
        frame = self.frameGeometry()
        x = min(max(frame.x(), room.left()), room.right() + 1 - frame.width())
        y = min(max(frame.y(), room.top()), room.bottom() + 1 - frame.height())
        self.move(max(x, room.left()), max(y, room.top()))

    def save_settings(self) -> None:
        s = self.settings
        s.geometry = self.saveGeometry()
        s.window_state = self.saveState()
        self.classify_page.save_settings()
        s.device = self.device()
        s.sync()

    def _shutdown(self) -> None:
        """Cancel every page's work and wait for their threads: never leave one running."""
        self._closing = True
        self.classify_page.shutdown()
        self.finetune_page.shutdown()
        self.label_page.shutdown()  # a labeling batch in flight ends at a file boundary, journaled
        self.review_page.shutdown()

    def confirm_stop_training(self) -> bool:
        """Asked when the window closes during a fine-tune (tests replace it)."""
        box = QMessageBox(QMessageBox.Icon.Question, "Fine-tuning",
                          "Training is running. Stop it and close the window? The best model so far is kept.",
                          parent=self)
        stop = box.addButton("&Stop training and close", QMessageBox.ButtonRole.DestructiveRole)
        keep = box.addButton("&Keep training", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(keep)
        box.exec()
        return box.clickedButton() is stop

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.finetune_page.running:
            if not self.confirm_stop_training():
                event.ignore()
                return
            self.statusBar().showMessage("Stopping the training (the best model so far is kept)…")
        if self.classify_page.running:
            self.statusBar().showMessage("Stopping…")
        self.save_settings()
        self._shutdown()
        super().closeEvent(event)
