"""Peak memory of ``resnet-gui classify`` by a checkpoint's ``image_size`` / ``resize_size``:
what the metadata bounds (docs/threat-model.md) keep classification within. Each size runs in
its own process (resnet18, random weights, N photos of 640x480, batch 32, torch engine on the
CPU); prints a table and a JSON line with the peak RSS in MB.

    python bench/bench_size_memory.py [--photos 40] [--sizes 224:256 512:1024]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = ("import resource, sys; from resnet_gui.cli import main; code = main(sys.argv[1:]);"
         "print('PEAK', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, file=sys.stderr); sys.exit(code)")


def _model(folder: Path, size: int, resize: int) -> Path:
    import torch
    import torchvision

    from resnet_gui.core.model.checkpoint import ModelInfo, checkpoint_dict

    info = ModelInfo(arch="resnet18", class_names=["a", "b", "c"], image_size=size, resize_size=resize)
    path = folder / f"m{size}-{resize}.pt"
    torch.save(checkpoint_dict(torchvision.models.resnet18(num_classes=3).state_dict(), info), path)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=40)
    parser.add_argument("--sizes", nargs="+", default=["224:256", "512:1024"])
    args = parser.parse_args()
    from PIL import Image

    rows = []
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        (folder / "p").mkdir()
        for i in range(args.photos):
            Image.new("RGB", (640, 480), (i * 5 % 255, 20, 30)).save(folder / "p" / f"{i}.jpg")
        for pair in args.sizes:
            size, resize = map(int, pair.split(":"))
            weights = _model(folder, size, resize)
            done = subprocess.run([sys.executable, "-c", CHILD, "classify", "--weights", str(weights), "--engine",
                                   "torch", "--device", "cpu", str(folder / "p")], capture_output=True, text=True)
            peak = next((int(line.split()[1]) for line in done.stderr.splitlines() if line.startswith("PEAK")), None)
            rows.append({"image_size": size, "resize_size": resize, "exit": done.returncode, "peak_rss_mb": peak})
    print(f"{'image_size':>10} {'resize_size':>11} {'exit':>4} {'peak RSS MB':>11}")
    for row in rows:
        print(f"{row['image_size']:>10} {row['resize_size']:>11} {row['exit']:>4} {row['peak_rss_mb']!s:>11}")
    print(json.dumps({"photos": args.photos, "rows": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
