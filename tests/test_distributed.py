"""Training and classifying under torchrun (DDP, gloo on this CPU): 2 processes, one thread each."""

from __future__ import annotations

import csv
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import torch
from torch.utils.data import DistributedSampler

from resnet_gui.cli import main as cli_main
from resnet_gui.core.distributed import Dist, from_env, shutdown
from resnet_gui.core.infer import Classifier, classify_files
from resnet_gui.core.model.loading import load_model
from resnet_gui.core.train import parallel
from resnet_gui.core.train.config import TrainingError

sys.path.insert(0, str(Path(__file__).parent))
import ddp_step_helper  # noqa: E402
from test_core_training import make_labeled  # noqa: E402

HERE = Path(__file__).parent


def torchrun(*args, nproc: int = 2, env_extra: dict | None = None, wait: bool = True):
    """``python -m torch.distributed.run --standalone`` (a free local port) with one thread per process."""
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore", **(env_extra or {}))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}", *map(str, args)]
    if not wait:
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env)


def train_args(data: Path, out: Path, *extra) -> list:
    return ["-m", "resnet_gui", "train", data, "--out", out, "--arch", "resnet18", "--from", "scratch",
            "--image-size", "32", "--batch-size", "8", "--val-split", "0.25", *extra]


@pytest.mark.slow  # torchrun / a second process: -m 'not slow' skips it
def test_one_ddp_step_with_global_batch_b_equals_one_single_process_step(monkeypatch):
    # rank 0 is this process (torch already imported), rank 1 the helper script: a 2-process
    # gloo group set up through the same variables torchrun sets
    group = {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(_free_port()), "WORLD_SIZE": "2"}
    peer = subprocess.Popen([sys.executable, str(HERE / "ddp_step_helper.py")], stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, **group, RANK="1", LOCAL_RANK="1", OMP_NUM_THREADS="1"))
    for key, value in dict(group, RANK="0", LOCAL_RANK="0").items():
        monkeypatch.setenv(key, value)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one core each, like the peer
    try:
        ddp = ddp_step_helper.both_steps(from_env("cpu"))
    finally:
        shutdown()
        torch.set_num_threads(threads)
        _, err = peer.communicate(timeout=120)
    assert peer.returncode == 0, err
    # BatchNorm in eval mode: every weight of the network, exactly the single-process step
    single = ddp_step_helper.one_step(Dist(device=torch.device("cpu")), bn_train=False)
    _same_step(ddp["eval_bn"], single)
    # BatchNorm in train mode: statistics per process (documented), gradients averaged
    _same_step(ddp["train_bn"], ddp_step_helper.per_process_batchnorm_reference(world=2))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _same_step(got: dict, expected: dict) -> None:
    """Every tensor moved, and moved the same way up to float rounding (1e-3 of its largest move)."""
    start = ddp_step_helper.fresh_model().state_dict()
    for name, value in expected.items():
        step = value - start[name]
        assert step.abs().max() > 0, name
        assert (got[name] - value).abs().max() <= 1e-3 * step.abs().max(), name


@pytest.mark.slow  # torchrun / a second process: -m 'not slow' skips it
def test_two_process_classify_csv_equals_the_single_process_csv(tmp_path, make_images, tiny_weights, capsys):
    album = tmp_path / "album"
    make_images(7, folder=album, fmt="png")
    make_images(4, size=(90, 60), folder=album / "sub", fmt="jpg")
    (album / "img_broken.jpg").write_text("not a picture")  # the same per-file error from both
    (album / "sub" / "empty.png").write_bytes(b"")
    single, double = tmp_path / "one.csv", tmp_path / "two.csv"
    args = ["classify", album, "--weights", tiny_weights, "--topk", "2", "--device", "cpu", "--batch-size", "3"]
    assert cli_main([str(a) for a in (*args, "--csv", single)]) == 0
    result = torchrun("-m", "resnet_gui", *args, "--csv", double)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr.count("classified 11 images, skipped 2") == 1
    rows = list(csv.reader(double.open()))
    assert len(rows) == 14 and sum(bool(r[-1]) for r in rows[1:]) == 2
    assert double.read_text() == single.read_text()


@pytest.mark.slow  # torchrun / a second process: -m 'not slow' skips it
def test_two_process_training_survives_a_killed_process_then_resumes_to_a_model_that_classifies(tmp_path):
    data = make_labeled(tmp_path / "data", per_class=8, classes=("red", "blue"))
    out, resume = tmp_path / "model.pt", tmp_path / "model.pt.resume"
    tag = uuid.uuid4().hex
    run = torchrun(*train_args(data, out, "--epochs", "60", "--patience", "60"), env_extra={"TEST_TAG": tag},
                   wait=False)
    try:  # a process dies mid-run: kill rank 1 once an epoch has been saved
        deadline = time.time() + 120
        while not resume.exists() and time.time() < deadline and run.poll() is None:
            time.sleep(0.1)
        assert out.exists(), "no checkpoint was written"
        os.kill(_worker_pid(tag, rank=1), signal.SIGKILL)
        output, _ = run.communicate(timeout=120)
    finally:
        run.kill()
    assert run.returncode != 0
    assert ("training stopped: another process of the group stopped" in output
            or "stopped by torchrun" in output), output
    assert load_model(out).info.training["best_epoch"] >= 1  # the last good model, whole
    last = torch.load(resume, weights_only=True)["epoch"]

    # --resume with both processes finishes the next epoch; only rank 0 prints and writes
    result = torchrun(*train_args(data, out, "--epochs", str(last + 1), "--resume"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"resumed after epoch {last}" in result.stderr and "2 processes (gloo), global batch 8" in result.stderr
    assert result.stdout.count(f"epoch {last + 1:3d}/{last + 1}") == 1 and result.stdout.count("saved to") == 1
    assert not resume.exists() and not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    loaded = load_model(out)
    assert loaded.info.class_names == ["blue", "red"] and loaded.info.image_size == 32
    preds = list(classify_files(Classifier(loaded, "cpu"), sorted((data / "red").iterdir()), topk=2))
    assert len(preds) == 8 and all(p.ok and {lab for lab, _ in p.topk} == {"red", "blue"} for p in preds)


def _worker_pid(tag: str, rank: int) -> int:
    """The pid of the torchrun worker with this RANK, found by the tag in its environment."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            env = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if f"TEST_TAG={tag}".encode() in env and f"RANK={rank}".encode() in env:
            return int(entry.name)
    raise AssertionError(f"no worker with RANK={rank}")


def test_more_processes_than_training_photos_is_a_clear_error():
    with pytest.raises(TrainingError, match="3 processes but only 2 training images"):
        parallel.check_world(Dist(rank=0, world=3), n_train=2, batch_size=8)
    assert parallel.check_world(Dist(rank=0, world=4), n_train=10, batch_size=32) == 8  # global batch 32


@pytest.mark.parametrize("n,world", [(10, 3), (8, 2), (5, 4)])
def test_each_rank_takes_the_distributed_sampler_share_of_the_epoch_order(n, world):
    order = torch.randperm(n, generator=torch.Generator().manual_seed(7)).tolist()
    for rank in range(world):
        sampler = DistributedSampler(order, num_replicas=world, rank=rank, shuffle=False)
        assert parallel.rank_order(order, Dist(rank=rank, world=world)) == [order[i] for i in sampler]
