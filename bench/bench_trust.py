"""Benchmark: "not one of my classes" and honest confidence on the shipped flowers model.

In-class: the 525 val rows of flowers-photos (never used to train or calibrate). Out-of-class
(not flowers): ../shared/data/photos (photos and odd files shipped inside scikit-image,
scikit-learn and matplotlib; sklearn's flower.jpg left out), ../shared/data/digits (500, seeded),
crops of those photos (6 per photo, seeded), the Adwaita icons of this system
(/usr/share/icons/Adwaita/512x512, when present), and synthetic images made here (noise,
gradients, stripes, blobs). Each out-of-class method is fitted on the training part of the
train rows and its threshold (95 % of in-class photos pass) on their held-out part: the
training run's own validation split (stratified 10 %, seed 0, as `resnet-gui train` does).

Reports AUROC (in-class val vs each non-flower set and all together) for kNN and Mahalanobis on
the penultimate features (fc's input) and on the stage statistics the app stores
(core/trust/features.py), energy, and the max-softmax baseline; the share of val photos passing
and of non-flowers wrongly passing at each threshold; ECE (15 bins) and NLL before/after the
temperature on the val rows; and, when the model stores its trust data, the score as
``classify`` computes it with torch and with the ONNX engines (fp32 export, shipped int8).

Natural photos (issue 22): the teacher's features (core/teacher) against the model's own, on
photos that are not flowers and that nothing here trained on. ../shared/data/outliers holds 95
Caltech-101 categories meant for training; no score in the app is fitted on them, and this
bench splits them by category: the insects and small creatures (butterfly, dragonfly, mayfly,
tick, scorpion) are judged as their own set; of the other 90, a seeded half ("tune") is where
variants may be compared and the other half ("judge", disjoint categories) gives the numbers
to read, with ../shared/data/photos (the package photos, sklearn's flower.jpg left out).

    python bench/bench_trust.py [DATA] [--weights weights/default.pt] [--teacher-cache DIR]

Prints a table and one JSON line. Features are cached in $TMPDIR (keyed by the weights' hash).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import random
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from resnet_gui.core.trust import calibration, scores  # noqa: E402
from resnet_gui.core.trust.fit import fit_trust  # noqa: E402

ICONS = Path("/usr/share/icons/Adwaita/512x512")


def flower_rows(data: Path, names: list[str]):
    """(fit, held, val): (path, label) lists from flowers-photos; held = the training run's own split."""
    from resnet_gui.core.data.datasets import stratified_split

    rows = list(csv.DictReader(open(data / "flowers-224-split.csv", newline="")))
    train = [(Path("flowers-train") / r["class"] / r["file"], names.index(r["class"])) for r in rows
             if r["split"] == "train"]
    _, held = stratified_split(train, 0.1, 0)
    held_names = {p.name for p, _ in held}
    photos = data / "flowers-photos"
    present = [(photos / p.parent.name / p.name, y) for p, y in train if (photos / p.parent.name / p.name).exists()]
    val = [(photos / r["class"] / r["file"], names.index(r["class"])) for r in rows
           if r["split"] == "val" and (photos / r["class"] / r["file"]).exists()]
    return ([it for it in present if it[0].name not in held_names], [it for it in present if it[0].name in held_names],
            val)


def non_flowers(data: Path, tmp: Path) -> dict[str, list[Path]]:
    from PIL import Image

    from resnet_gui.core.data.images import ImageError, iter_image_files, load_image

    photos = [p for p in sorted(iter_image_files([data / "photos"])) if p.name != "flower.jpg"]
    readable = []
    for p in photos:
        try:
            readable.append((p, load_image(p)))
        except ImageError:
            pass
    rng = random.Random(0)
    crops = []
    for p, img in readable:
        for i in range(6):
            scale = rng.uniform(0.3, 0.7)
            w, h = min(img.width, max(16, int(img.width * scale))), min(img.height, max(16, int(img.height * scale)))
            x, y = rng.randint(0, img.width - w), rng.randint(0, img.height - h)
            out = tmp / f"crop-{p.parent.name}-{p.stem}-{i}.png"
            img.crop((x, y, x + w, y + h)).save(out)
            crops.append(out)
    digits = sorted(iter_image_files([data / "digits"]))
    random.Random(0).shuffle(digits)
    synthetic = []
    gen = np.random.default_rng(0)
    for i in range(100):
        kind = i % 5
        size = 200
        if kind == 0:
            a = gen.integers(0, 256, (size, size, 3))
        elif kind == 1:
            ramp = np.linspace(0, 255, size)
            a = np.stack([np.add.outer(ramp * gen.random(), ramp * gen.random()) / 2] * 3, -1) * gen.random(3)
        elif kind == 2:
            period = gen.integers(4, 40)
            a = ((np.arange(size)[:, None] // period + np.zeros((1, size))) % 2)[..., None] * gen.integers(0, 256, 3)
        elif kind == 3:
            yy, xx = np.mgrid[:size, :size]
            a = np.zeros((size, size, 3))
            for _ in range(5):
                cy, cx, r = gen.integers(0, size, 2).tolist() + [gen.integers(10, 60)]
                a += np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / r ** 2)[..., None] * gen.integers(0, 256, 3)
        else:
            a = np.full((size, size, 3), gen.integers(0, 256, 3))
        out = tmp / f"synthetic-{i}.png"
        Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)).save(out)
        synthetic.append(out)
    sets = {"photos": [p for p, _ in readable], "photo crops": crops, "digits": digits[:500],
            "synthetic": synthetic}
    icons = sorted(ICONS.glob("*/*.png")) if ICONS.is_dir() else []
    if icons:
        sets["icons"] = icons
    return sets


def extract(loaded, paths: list[Path], cache: Path, key: str):
    """(logits, stage statistics, penultimate features) of the readable ``paths``, through
    PyTorch and the eval transform; the penultimate ones (fc's input) for comparison."""
    import torch

    from resnet_gui.core.data.images import ImageError
    from resnet_gui.core.data.transforms import decode_tensor
    from resnet_gui.core.trust.features import extract as run, normaliser

    digest = hashlib.sha256(("\n".join(map(str, paths)) + key).encode()).hexdigest()[:20]
    file = cache / f"{digest}-v2.npz"
    if file.exists():
        stored = np.load(file)
        return stored["logits"], stored["features"], stored["penultimate"]
    info = loaded.info
    images = []
    for p in paths:
        try:
            images.append(decode_tensor(p, info.resize_size, info.image_size))
        except ImageError:
            continue
    seen = []
    hook = loaded.model.avgpool.register_forward_hook(lambda _m, _i, out: seen.append(out.flatten(1).numpy()))
    try:
        logits, features = run(loaded.model, images, normaliser(info.mean, info.std, "cpu"), torch.device("cpu"))
    finally:
        hook.remove()
    penultimate = np.concatenate(seen)
    np.savez(file, logits=logits, features=features, penultimate=penultimate)
    return logits, features, penultimate


INSECTS = ("butterfly", "dragonfly", "mayfly", "tick", "scorpion")  # ant is not in outliers/ (its README)


def caltech_split(data: Path, per_category: int = 0) -> dict[str, list[Path]]:
    """Caltech categories by role: insects (judged), tune (a seeded half), judge (the other half);
    ``per_category``: at most this many photos of each but the insects (the first by name; 0: all)."""
    root = data / "outliers"
    cats = sorted(p.name for p in root.iterdir() if p.is_dir())
    rest = [c for c in cats if c not in INSECTS]
    random.Random(0).shuffle(rest)
    half = len(rest) // 2
    roles = {"insects": list(INSECTS), "tune": sorted(rest[:half]), "judge": sorted(rest[half:])}
    def photos(c):  # the insects all: the smallest and hardest set
        found = sorted((root / c).glob("*.jpg"))
        return found[:per_category] if per_category and c not in INSECTS else found
    return {role: [p for c in names for p in photos(c)] for role, names in roles.items()}


def natural_photos(data: Path, loaded, names, fit, held, val, cache: Path, key: str, teacher_cache,
                   per_category: int = 0) -> dict:
    """AUROC and the share flagged on natural non-flowers: the teacher's features against the
    model's own (stage statistics, as stored today) and max-softmax, each fitted on the same
    flower photos with the threshold on the same held-out ones."""
    from resnet_gui.core.data.images import iter_image_files
    from resnet_gui.core.teacher import teacher_features

    sets = caltech_split(data, per_category)
    sets["package photos"] = [p for p in sorted(iter_image_files([data / "photos"])) if p.name != "flower.jpg"]
    in_sets = {"fit": fit, "held": held, "val": val}
    model = {k: extract(loaded, [p for p, _ in v], cache, key) for k, v in in_sets.items()}
    model_ood = {k: extract(loaded, v, cache, key) for k, v in sets.items()}

    def teach(paths):  # the rows the model could read too (extract skips unreadable photos)
        rows = teacher_features(paths, cache_dir=teacher_cache)
        return rows[~np.isnan(rows[:, 0])]
    teacher = {k: teach([p for p, _ in v]) for k, v in in_sets.items()}
    teacher_ood = {k: teach(v) for k, v in sets.items()}
    labels = {k: np.array([y for _, y in v]) for k, v in in_sets.items()}
    rows = {}
    variants = [("teacher features, mahalanobis", "mahalanobis", 0, "teacher"),
                ("teacher features, knn (k=10)", "knn", 10, "teacher"),
                ("model stage statistics, mahalanobis", "mahalanobis", 0, "model"),
                ("max-softmax (baseline)", "msp", 0, "model")]
    for label, method, k, space in variants:
        f = teacher if space == "teacher" else {n: v[1] for n, v in model.items()}
        o = teacher_ood if space == "teacher" else {n: v[1] for n, v in model_ood.items()}
        lg = {n: v[0] for n, v in model.items()}
        lo = {n: v[0] for n, v in model_ood.items()}
        trust = fit_trust(f["fit"], labels["fit"], lg["held"], f["held"], labels["held"], len(names),
                          method=method, k=k or 1)
        val_scores = trust.scores(lg["val"], f["val"])
        row = {"flowers val flagged": float((val_scores > trust.threshold).mean())}
        for name in sets:
            out_scores = trust.scores(lo[name], o[name])
            row[f"AUROC {name}"] = scores.auroc(val_scores, out_scores)
            row[f"flagged {name}"] = float((out_scores > trust.threshold).mean())
        rows[label] = row
    sizes = {k: len(v) for k, v in teacher_ood.items()}
    print(f"\nnatural photos that are not flowers (none trained on): Caltech categories judge {sizes['judge']}, "
          f"insects {sizes['insects']}, tune {sizes['tune']} (variants compared here); package photos "
          f"{sizes['package photos']}; in-class: {len(teacher['val'])} val photos. Threshold: 95 % of "
          f"{len(teacher['held'])} held-out train photos pass.")
    cols = ["judge", "insects", "package photos", "tune"]
    print(f"{'score':<38}" + "".join(f"{'AUROC ' + c[:8]:>15}" for c in cols)
          + "".join(f"{'flagged ' + c[:7]:>16}" for c in cols) + f"{'flowers flagged':>17}")
    for label, row in rows.items():
        print(f"{label:<38}" + "".join(f"{row['AUROC ' + c]:>15.3f}" for c in cols)
              + "".join(f"{row['flagged ' + c]:>16.1%}" for c in cols) + f"{row['flowers val flagged']:>17.1%}")
    return {"sizes": sizes, "scores": rows}


def stored_scores(weights: Path, loaded, sets: dict[str, list[Path]]) -> dict:
    """The model's own trust data as classify computes it: torch, fp32 ONNX, the shipped int8."""
    from resnet_gui.core.engines.export import export_onnx, file_sha256
    from resnet_gui.core.engines.runtimes import open_engine
    from resnet_gui.core.infer import Classifier, classify_files

    runners = {"torch": Classifier(loaded, "cpu")}
    tmp = Path(tempfile.mkdtemp(prefix="bench_trust_"))
    runners["onnxruntime fp32"] = open_engine(export_onnx(loaded, tmp / "fp32.onnx", file_sha256(weights)))
    int8 = weights.with_name(weights.stem + ".int8.onnx")
    if int8.exists():
        runners["onnxruntime int8 (shipped)"] = open_engine(int8)
    out = {}
    for name, runner in runners.items():
        out[name] = {k: [(p.ood_score, p.unknown) for p in classify_files(runner, v, topk=1) if p.ok]
                     for k, v in sets.items()}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--weights", default=str(ROOT / "weights" / "default.pt"))
    parser.add_argument("--teacher-cache", default=None, help="teacher feature cache (default: the user data folder's)")
    parser.add_argument("--natural-only", action="store_true", help="only the natural-photos table")
    parser.add_argument("--per-category", type=int, default=0,
                        help="at most this many Caltech photos per category (0: all; the CPU is slow)")
    args = parser.parse_args()
    from resnet_gui.core.model.loading import load_model

    data, weights = Path(args.data), Path(args.weights)
    loaded = load_model(weights)
    names = loaded.info.class_names
    cache = Path(tempfile.gettempdir()) / "resnet_gui_bench_trust"
    cache.mkdir(exist_ok=True)
    # features depend on the tensors only: a checkpoint that gained trust data reuses them
    key = hashlib.sha256(b"".join(v.numpy().tobytes() for v in loaded.model.state_dict().values())).hexdigest()
    fit, held, val = flower_rows(data, names)
    natural = natural_photos(data, loaded, names, fit, held, val, cache, key, args.teacher_cache,
                             args.per_category)
    if args.natural_only:
        print(json.dumps({"bench": "trust", "weights": weights.name, "natural": natural}))
        return 0
    tmp = Path(tempfile.mkdtemp(prefix="bench_trust_ood_"))
    ood_paths = non_flowers(data, tmp)
    feats = {"fit": extract(loaded, [p for p, _ in fit], cache, key),
             "held": extract(loaded, [p for p, _ in held], cache, key),
             "val": extract(loaded, [p for p, _ in val], cache, key)}
    labels = {"fit": np.array([y for _, y in fit]), "held": np.array([y for _, y in held]),
              "val": np.array([y for _, y in val])}
    ood = {k: extract(loaded, v, cache, key) for k, v in ood_paths.items()}
    ood["all non-flowers"] = tuple(np.concatenate([v[i] for v in ood.values()]) for i in range(3))
    print(f"model {weights.name}: fit {len(fit)} train photos, threshold/temperature on {len(held)} held-out "
          f"train photos, in-class test: {len(val)} val photos; non-flowers: "
          + ", ".join(f"{k} {len(v[0])}" for k, v in ood.items()))

    methods = [("penultimate", "knn", 10), ("penultimate", "knn", 50), ("penultimate", "mahalanobis", 0),
               ("stage statistics", "knn", 50), ("stage statistics", "mahalanobis", 0), ("logits", "energy", 0),
               ("logits", "msp", 0)]
    results = {}
    header = f"{'method':<34}" + "".join(f"{k[:14]:>15}" for k in ood) + f"{'val pass':>10}{'non-fl. pass':>14}"
    print("\nAUROC (in-class val vs non-flowers; 1.0 = perfect, 0.5 = chance); pass: share under the threshold "
          "set on the held-out train photos (95 % of them pass)\n" + header)
    for kind, method, k in methods:
        col = 2 if kind == "penultimate" else 1

        def pick(sets):
            return sets[0], sets[col]
        trust = fit_trust(pick(feats["fit"])[1], labels["fit"], *pick(feats["held"]), labels["held"], len(names),
                          method=method, k=k or 1)
        val_scores = trust.scores(*pick(feats["val"]))
        row = {name: scores.auroc(val_scores, trust.scores(*pick(v))) for name, v in ood.items()}
        row["val pass"] = float((val_scores <= trust.threshold).mean())
        row["non-flowers pass"] = float((trust.scores(*pick(ood["all non-flowers"])) <= trust.threshold).mean())
        label = f"{method} (k={k})" if method == "knn" else method
        label = f"{label}, {kind}" if kind != "logits" else label + (" (baseline)" if method == "msp" else "")
        results[label] = row
        print(f"{label:<34}" + "".join(f"{row[n]:>15.3f}" for n in ood) + f"{row['val pass']:>10.1%}"
              f"{row['non-flowers pass']:>14.1%}")

    t = calibration.fit_temperature(feats["held"][0], labels["held"])
    vl, vy = feats["val"][0], labels["val"]
    cal = {"temperature": t, "val_photos": len(vy),
           "ece_before": calibration.ece(calibration.softmax(vl), vy),
           "ece_after": calibration.ece(calibration.softmax(vl, t), vy),
           "nll_before": calibration.nll(vl, vy), "nll_after": calibration.nll(vl, vy, t),
           "accuracy": float((vl.argmax(1) == vy).mean())}
    print(f"\ntemperature {t:.3f} (fitted on {len(held)} held-out train photos); on the {len(vy)} val photos: "
          f"ECE {cal['ece_before']:.4f} -> {cal['ece_after']:.4f}, NLL {cal['nll_before']:.4f} -> "
          f"{cal['nll_after']:.4f}, accuracy {cal['accuracy']:.1%}")

    engines = {}
    if loaded.info.trust is not None:
        print("\nthe model's stored trust data, as classify computes it: " + loaded.info.trust.describe())
        every = dict(ood_paths, val=[p for p, _ in val])
        runs = stored_scores(weights, loaded, every)
        reference = runs["torch"]
        for name, got in runs.items():
            ood_s = [s for k, v in got.items() if k != "val" for s, _ in v]
            val_s = [s for s, _ in got["val"]]
            flags = [u for v in got.values() for _, u in v]
            ref_flags = [u for v in reference.values() for _, u in v]
            diffs = [abs(a - b) for k in got for (a, _), (b, _) in zip(got[k], reference[k])]
            engines[name] = {"auroc": scores.auroc(val_s, ood_s), "val_pass": 1 - float(np.mean([u for _, u in got["val"]])),
                             "ood_pass": 1 - float(np.mean([u for k, v in got.items() if k != "val" for _, u in v])),
                             "unknown_agreement_with_torch": float(np.mean([a == b for a, b in zip(flags, ref_flags)])),
                             "max_score_diff": max(diffs)}
            e = engines[name]
            print(f"  {name:<28} AUROC {e['auroc']:.3f}  val pass {e['val_pass']:.1%}  non-flowers pass "
                  f"{e['ood_pass']:.1%}  unknown agrees with torch {e['unknown_agreement_with_torch']:.1%}  "
                  f"largest score difference {e['max_score_diff']:.2e}")
    print(json.dumps({"bench": "trust", "weights": weights.name, "sizes": {k: len(v[0]) for k, v in ood.items()},
                      "auroc": results, "calibration": cal, "stored": engines, "natural": natural}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
