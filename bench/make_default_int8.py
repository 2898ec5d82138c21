"""How weights/default.int8.onnx was made: weights/default.pt exported to fp32 ONNX, int8 QDQ
calibrated on 300 seeded-random train rows of flowers-224-split.csv (never val rows), then
judged against fp32 on the val rows of flowers-224 and flowers-photos, on both engines.

    python bench/make_default_int8.py ../shared/data
"""
import csv, random, sys, tempfile
from pathlib import Path
from resnet_gui.core.model.loading import load_model
from resnet_gui.core.engines.export import export_onnx, file_sha256
from resnet_gui.core.engines.runtimes import open_engine
from resnet_gui.core.engines.parity import torch_parity, decode_batches
from resnet_gui.core.engines import quantize as q

data = Path(sys.argv[1]); weights = Path("weights/default.pt")
rows = list(csv.reader(open(data / "flowers-224-split.csv")))[1:]
loaded = load_model(weights)
names = loaded.info.class_names
with tempfile.TemporaryDirectory() as tmp:
    fp32_path = export_onnx(loaded, Path(tmp) / "fp32.onnx", file_sha256(weights))
    fp32 = open_engine(fp32_path)
    for folder in ("flowers-224", "flowers-photos"):
        train = [data / folder / c / f for s, c, f in rows if s == "train" and (data / folder / c / f).exists()]
        val = [data / folder / c / f for s, c, f in rows if s == "val" and (data / folder / c / f).exists()]
        random.Random(0).shuffle(train)
        split = q.CalibrationSplit(train[:300], val, [names.index(p.parent.name) for p in val])
        if folder == "flowers-224":
            print(torch_parity(loaded, fp32, decode_batches(val, loaded.info), "flowers-224 val").describe())
            q.quantize_int8(fp32_path, "weights/default.int8.onnx", split.calibrate, loaded.info, fp32.model.props)
        int8 = open_engine("weights/default.int8.onnx")
        v = q.judge_int8(fp32, int8, split)
        print(folder, "val:", v.describe(), "accepted" if v.accepted else "REFUSED", flush=True)
        ov8 = q.judge_int8(open_engine(fp32_path, "openvino"), open_engine("weights/default.int8.onnx", "openvino"), split)
        print(folder, "val, openvino:", ov8.describe(), flush=True)
