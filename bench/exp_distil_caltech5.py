"""Experiment (issue 27), outside the app's training code: distillation with and without
feature matching, in a plain loop. A resnet18 from the shipped model learns caltech5 (30
photos a class, all used for training here) from the teacher: soft targets from the probe on
the same mixed views, plus (beta > 0) the student's pooled features, projected to 1,280,
matched to the teacher's standardised features. Judged on bench_own_classes.py's 75 held-out
photos every 5 epochs. Results: docs/performance.md.

    python bench/exp_distil_caltech5.py BETA EPOCHS      # e.g. 1.0 40, and 0.0 40 as the control
"""
import sys, time, random
import torch, torch.nn as nn, torch.nn.functional as F
from PIL import Image
import torchvision.transforms.v2 as T
sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))
from bench_own_classes import DATA, CALTECH5
from resnet_gui.core.teacher import load_teacher, fit_probe
from resnet_gui.core.model.loading import load_model

beta = float(sys.argv[1]); epochs = int(sys.argv[2]); torch.manual_seed(0); random.seed(0)
train, held = [], []
for k, c in enumerate(CALTECH5):
    files = sorted((DATA / "outliers" / c).glob("*.jpg"))
    train += [(f, k) for f in files[:30]]; held += [(f, k) for f in files[30:45]]
def load(f, short=183):
    im = Image.open(f).convert("RGB"); w, h = im.size; s = short / min(w, h)
    return T.functional.pil_to_tensor(im.resize((max(short, round(w * s)), max(short, round(h * s))), Image.BILINEAR))
imgs = [load(f) for f, _ in train]; ys = torch.tensor([y for _, y in train])
teacher = load_teacher("cpu")
tmean = torch.tensor([0.5] * 3).view(1, 3, 1, 1) * 255; tstd = tmean.clone()
mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1) * 255; std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1) * 255
def tfeat(x):  # float 0..255 NCHW, any size -> teacher features
    x = F.interpolate(x, size=(224, 224), mode="bilinear", align_corners=False, antialias=True)
    return teacher.features((x - tmean) / tstd)
cc = T.CenterCrop(160)
with torch.inference_mode():
    base = tfeat(torch.stack([cc(i) for i in imgs]).float())
probe = fit_probe(base.numpy(), ys.numpy())
fmu, fsd = base.mean(0), base.std(0) + 1e-6
student = load_model("/work/main/weights/default.pt").model.float()
student.fc = nn.Linear(512, 5)
proj = nn.Linear(512, 1280)
feats = {}
student.avgpool.register_forward_hook(lambda m, i, o: feats.__setitem__("f", o.flatten(1)))
aug = T.Compose([T.RandomResizedCrop(160, scale=(0.25, 1.0), antialias=True), T.RandomHorizontalFlip()])
params = list(student.parameters()) + list(proj.parameters())
opt = torch.optim.AdamW(params, lr=5e-4, weight_decay=0.05)
steps = epochs * ((len(imgs) + 31) // 32); sched = torch.optim.lr_scheduler.OneCycleLR(opt, 5e-4, total_steps=steps, pct_start=0.1)
t0 = time.time()
for ep in range(epochs):
    student.train(); order = torch.randperm(len(imgs))
    for i in range(0, len(imgs), 32):
        idx = order[i:i + 32]
        v = torch.stack([aug(imgs[j]) for j in idx]).float()
        lam = float(torch.distributions.Beta(0.5, 0.5).sample()); perm = torch.randperm(len(idx))
        v = lam * v + (1 - lam) * v[perm]
        with torch.no_grad():
            tf = tfeat(v)
            target = torch.from_numpy(probe.predict_proba(tf.numpy())).float()
        tf = ((tf - fmu) / fsd).clone()
        logits = student(((v - mean) / std).contiguous(memory_format=torch.channels_last))
        loss = -(target * F.log_softmax(logits, 1)).sum(1).mean()
        if beta > 0:
            loss = loss + beta * F.mse_loss(proj(feats["f"]), tf)
        opt.zero_grad(); loss.backward(); opt.step(); sched.step()
    if ep % 5 == 4 or ep == epochs - 1:
        student.eval(); right = 0
        with torch.inference_mode():
            for k in range(0, len(held), 32):
                x = torch.stack([cc(load(f)) for f, _ in held[k:k + 32]]).float()
                right += (student((x - mean) / std).argmax(1) == torch.tensor([y for _, y in held[k:k + 32]])).sum().item()
        print(f"beta {beta} epoch {ep + 1}: loss {loss.item():.3f} held-out {right}/{len(held)} = {right / len(held):.1%} ({time.time() - t0:.0f} s)", flush=True)
