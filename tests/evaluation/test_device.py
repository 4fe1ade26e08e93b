"""``--device``: resolution, the store key, the plumbing on the CPU, and CUDA against the CPU."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import torch

import faqnas_qiskit.evaluation.config as config_module
from faqnas_qiskit.cli import main
from faqnas_qiskit.data import load_dataset
from faqnas_qiskit.errors import ConfigError
from faqnas_qiskit.evaluation import (
    TrainingConfig,
    evaluate_genome,
    evaluate_repeats,
    resolve_device,
)
from faqnas_qiskit.evaluation.train import split_tensors
from faqnas_qiskit.search import SearchConfig
from faqnas_qiskit.search.candidate import CandidateTask, run_candidate
from faqnas_qiskit.search.runs import training_key
from faqnas_qiskit.space import Genome

CUDA = torch.cuda.is_available()
needs_cuda = pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU")
GENOME = Genome.parse("q3-angle-cz-circular-ry.rx")


def test_resolve_device(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_device("cpu") == "cpu"
    monkeypatch.setattr(config_module, "_cuda_available", lambda: False)
    assert resolve_device("auto") == "cpu"
    with pytest.raises(ConfigError, match="no CUDA GPU") as caught:
        resolve_device("cuda")
    assert "\n" not in str(caught.value)
    monkeypatch.setattr(config_module, "_cuda_available", lambda: True)
    assert resolve_device("auto") == "cuda" and resolve_device("cuda") == "cuda"
    with pytest.raises(ConfigError, match="one of cpu, cuda, auto"):
        resolve_device("gpu")


def test_cpu_keeps_the_training_key_of_stores_written_before_the_option() -> None:
    # the literal dict every stored evaluation was keyed with before --device existed
    before = {"epochs": 5, "lr": 0.003, "batch_size": 64, "engine": "statevector", "double": False}
    assert TrainingConfig().to_dict() == before
    assert TrainingConfig(device="cpu").to_dict() == before
    assert TrainingConfig.from_dict(before).device == "cpu"
    cuda = TrainingConfig(device="cuda")
    assert cuda.to_dict() == {**before, "device": "cuda"}
    assert TrainingConfig.from_dict(cuda.to_dict()) == cuda
    on_cpu = SearchConfig(dataset="iris", training=TrainingConfig(device="cpu"))
    assert training_key(on_cpu) == training_key(SearchConfig(dataset="iris"))
    assert training_key(SearchConfig(dataset="iris", training=cuda)) != training_key(on_cpu)


def test_config_rejects_unresolved_or_aer_on_cuda() -> None:
    with pytest.raises(ConfigError, match="'device' option"):
        TrainingConfig(device="auto")
    with pytest.raises(ConfigError, match="Aer simulates on the CPU"):
        TrainingConfig(device="cuda", engine="aer")


@pytest.mark.skipif(CUDA, reason="checks the message for a machine without CUDA")
@pytest.mark.parametrize("command", ["evaluate", "search"])
def test_cli_cuda_without_cuda_is_one_line_exit_2(
    command: str, capsys: pytest.CaptureFixture[str], tmp_path: object
) -> None:
    argv = [command, "--dataset", "iris", "--device", "cuda"]
    argv += ["--genome", "q2-angle-cz-linear-ry"] if command == "evaluate" else []
    argv += ["--store", f"{tmp_path}/s.db"] if command == "search" else []
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'device' option" in err and "no CUDA GPU" in err


def test_cli_device_auto_trains_where_torch_can(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["evaluate", "--dataset", "iris", "--genome", "q2-angle-cz-linear-ry", "--epochs", "2"]
    assert main([*argv, "--json", "--no-metrics"]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert main([*argv, "--json", "--no-metrics", "--device", "auto"]) == 0
    auto = json.loads(capsys.readouterr().out)
    if not CUDA:  # auto is the CPU here: the very same training
        assert auto["val_accuracy"] == plain["val_accuracy"]
        assert auto["loss_per_epoch"] == plain["loss_per_epoch"]


def test_split_tensors_are_one_copy_per_process() -> None:
    data = load_dataset("wine", seed=0)
    x64, y = split_tensors(data, "train", torch.float64)
    # float64 on the CPU shares the dataset's memory
    assert x64.data_ptr() == data.x_train.__array_interface__["data"][0]
    assert y.data_ptr() == data.y_train.__array_interface__["data"][0]
    x32, _ = split_tensors(data, "train", torch.float32)
    assert split_tensors(data, "train", torch.float32)[0] is x32  # converted once, then shared
    np.testing.assert_array_equal(x32.numpy(), data.x_train.astype(np.float32))


def test_model_and_weights_on_the_configured_device() -> None:
    data = load_dataset("iris", seed=0)
    record, model = evaluate_genome(GENOME, data, TrainingConfig(epochs=1, device="cpu"))
    assert {p.device.type for p in model.parameters()} == {"cpu"}
    [result] = evaluate_repeats(GENOME, data, TrainingConfig(epochs=1), repeats=(0,))
    assert result.record is not None and result.weights is not None
    assert result.record.loss_per_epoch == record.loss_per_epoch
    state = torch.load(io.BytesIO(result.weights))
    assert {t.device.type for t in state.values()} == {"cpu"}  # loadable on any machine


@pytest.mark.skipif(CUDA, reason="checks the failure on a machine without CUDA")
def test_a_worker_task_carries_the_device() -> None:
    # the device travels in the task's TrainingConfig to in-process, local and Dask workers
    task = CandidateTask(key=GENOME.key, seed=0, training=TrainingConfig(device="cuda"))
    outcome = run_candidate(task, load_dataset("iris", seed=0))
    assert outcome.error is not None and "no CUDA GPU" in outcome.error


@needs_cuda
@pytest.mark.parametrize("double", [False, True])
def test_cuda_equals_cpu_to_float_tolerance(double: bool) -> None:
    data = load_dataset("wine", seed=1)
    cpu, _ = evaluate_genome(GENOME, data, TrainingConfig(epochs=3, double=double), seed=4)
    gpu, model = evaluate_genome(
        GENOME, data, TrainingConfig(epochs=3, double=double, device="cuda"), seed=4
    )
    assert {p.device.type for p in model.parameters()} == {"cuda"}
    tol = 1e-9 if double else 1e-4
    np.testing.assert_allclose(gpu.loss_per_epoch, cpu.loss_per_epoch, rtol=tol, atol=tol)
    assert abs(gpu.val_accuracy - cpu.val_accuracy) <= 1 / 30  # at most one row flips


@needs_cuda
def test_cuda_batched_repeats_equal_cpu() -> None:
    data = load_dataset("wine", seed=1)
    config = TrainingConfig(epochs=2, double=True)
    cpu = evaluate_repeats(GENOME, data, config, seed=4, repeats=(0, 1, 2))
    gpu = evaluate_repeats(
        GENOME,
        data,
        TrainingConfig(epochs=2, double=True, device="cuda"),
        seed=4,
        repeats=(0, 1, 2),
    )
    for a, b in zip(cpu, gpu, strict=True):
        assert a.record is not None and b.record is not None
        np.testing.assert_allclose(b.record.loss_per_epoch, a.record.loss_per_epoch, rtol=1e-9)
        assert b.record.val_accuracy == a.record.val_accuracy


def test_resume_keeps_the_device_of_the_run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: object
) -> None:
    store = f"{tmp_path}/s.db"
    argv = ["search", "--dataset", "iris", "--store", store, "--qubits", "2", "--depth", "1"]
    argv += ["--population", "2", "--generations", "1", "--epochs", "1", "--json"]
    assert main(argv) == 0
    run = json.loads(capsys.readouterr().out)["run"]
    monkeypatch.setattr(config_module, "_cuda_available", lambda: True)  # as on a GPU machine
    assert main(["search", "--store", store, "--resume", run, "--device", "auto"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'device' option must be cpu, where run" in err


def test_repeats_hold_the_data_once_and_standardise_each_repeats_split() -> None:
    from faqnas_qiskit.data import repeat_split
    from faqnas_qiskit.evaluation.batched import _MODEL_DATA as _REPLICA_DATA
    from faqnas_qiskit.evaluation.train import split_tensors

    data = load_dataset("wine", seed=2)
    config = TrainingConfig(epochs=1, double=True)
    evaluate_repeats(GENOME, data, config, seed=1, split_seed=2, repeats=(0, 1, 2))
    key, held = _REPLICA_DATA[data]
    evaluate_repeats(
        Genome.parse("q2-angle-cx-linear-ry"), data, config, seed=3, split_seed=2, repeats=(0, 1, 2)
    )
    assert _REPLICA_DATA[data][1] is held  # the next candidate reuses it
    # the features are the single evaluation's tensors, not copies per repeat
    assert held.pool[0] is split_tensors(data, "train", torch.float64)[0]
    assert held.test[0] is split_tensors(data, "test", torch.float64)[0]
    for r in (0, 1, 2):
        drawn = repeat_split(data, seed=2, repeat=r)
        for split in ("train", "val", "test"):
            rows = slice(None)
            x = held.features(split, rows)[0 if split == "test" else r]
            if split == "test":
                x = (held.test[0] - held.mean[r]) / held.scale[r]
            np.testing.assert_array_equal(x.numpy(), getattr(drawn, f"x_{split}"))
            np.testing.assert_array_equal(
                held.split_labels(split)[r].numpy(), getattr(drawn, f"y_{split}")
            )
    evaluate_repeats(GENOME, data, config, seed=1, split_seed=2, repeats=(1, 2))
    assert _REPLICA_DATA[data][0] != key  # another set of repeats replaces it, never adds one
