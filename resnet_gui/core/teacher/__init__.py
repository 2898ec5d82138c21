"""The ImageNet teacher: EfficientNet-Lite0 with ImageNet weights, a tool of the app that
knows the visual world (features for "not one of my classes", the review, a linear probe).

``load_teacher()`` -> :class:`Teacher` (``preprocess``, ``features``, ``logits``);
``teacher_features(paths)`` -> cached (N, 1280) numpy rows; ``fit_probe(features, labels)``
-> :class:`Probe`. A missing or changed weights file raises :class:`TeacherError` (one line).
torch is imported only inside functions.
"""

from .features import teacher_features
from .model import TEACHER_VERSION, Preprocess, Teacher, TeacherError, load_teacher, shared_teacher
from .probe import Probe, fit_probe

__all__ = ["TEACHER_VERSION", "Preprocess", "Probe", "Teacher", "TeacherError", "fit_probe", "load_teacher",
           "shared_teacher", "teacher_features"]
