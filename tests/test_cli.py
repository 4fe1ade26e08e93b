from __future__ import annotations

import json
import subprocess
import sys

import pytest

from faqnas_qiskit.cli import main
from faqnas_qiskit.data import DATASET_NAMES


def test_evaluate_json(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "evaluate",
            "--dataset",
            "iris",
            "--genome",
            "q2-angle-cz-linear-ry",
            "--epochs",
            "2",
            "--json",
        ]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    for key in (
        "genome",
        "dataset",
        "seed",
        "epochs",
        "train_accuracy",
        "val_accuracy",
        "test_accuracy",
        "wall_time_s",
    ):
        assert key in out
    assert (
        out["genome"] == "q2-angle-cz-linear-ry" and out["epochs"] == 2 and out["dataset"] == "iris"
    )


def test_evaluate_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", "--genome", "q2-angle-cx-linear-rx", "--epochs", "1"]) == 0
    out = capsys.readouterr().out
    assert "q2-angle-cx-linear-rx on iris" in out and "accuracy" in out


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--genome", "q4-angle-cz-circular-ry.rq"], "rotations part"),
        (["--genome", "q4-angle-cz-circular-ry", "--dataset", "nope"], "'dataset'"),
        (["--genome", "q4-angle-cz-circular-ry", "--engine", "gpu"], "'engine'"),
        (["--genome", "q4-angle-cz-circular-ry", "--epochs", "0"], "'epochs'"),
        (["--genome", "q4-angle-cz-circular-ry", "--epochs", "x"], "--epochs"),
        (["--genome", "q4-angle-cz-circular-ry", "--dataset", "mnist"], "train-images-idx3-ubyte"),
        (
            [
                "--genome",
                "q4-angle-cz-circular-ry",
                "--dataset",
                "mnist",
                "--data-dir",
                "/nonexistent",
            ],
            "/nonexistent",
        ),
        (
            [
                "--genome",
                "q4-angle-cz-circular-ry",
                "--dataset",
                "csv:/nonexistent.csv",
                "--target",
                "y",
            ],
            "nonexistent.csv",
        ),
        (["--genome", "q4-angle-cz-circular-ry", "--threads", "0"], "'threads'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    args: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["evaluate", *args])
    err = capsys.readouterr().err
    assert code == 2
    assert needle in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_csv_without_target_column(tmp_path: object, capsys: pytest.CaptureFixture[str]) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "t.csv"
    path.write_text("a,b,label\n" + "".join(f"{i},{i % 3},{i % 2}\n" for i in range(40)))
    code = main(
        [
            "evaluate",
            "--genome",
            "q2-angle-cz-linear-ry",
            "--dataset",
            f"csv:{path}",
            "--target",
            "cls",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "cls" in err and "label" in err and err.count("\n") == 1
    assert (
        main(
            [
                "evaluate",
                "--genome",
                "q2-angle-cz-linear-ry",
                "--dataset",
                f"csv:{path}",
                "--target",
                "label",
                "--epochs",
                "1",
            ]
        )
        == 0
    )


def test_help_is_useful(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "evaluate" in capsys.readouterr().out
    assert main(["evaluate", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--genome" in out and "--engine" in out and "default: 5" in out


@pytest.mark.parametrize("command", ["evaluate", "search"])
def test_dataset_help_names_every_built_in_dataset(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([command, "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    for name in DATASET_NAMES:
        assert f" {name}" in out.split("--dataset DATASET", 2)[-1].split("--data-dir")[0], name


def test_console_script_runs_as_a_process() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "faqnas_qiskit", "evaluate", "--genome", "q4-bad"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("faqnas: error:") and proc.stderr.count("\n") == 1


def test_evaluate_json_has_the_cost_metrics(capsys: pytest.CaptureFixture[str]) -> None:
    from faqnas_qiskit.metrics import quantum_flops_formula
    from faqnas_qiskit.space import Genome

    code = main(["evaluate", "--genome", "q3-amplitude-cz-linear-ry", "--epochs", "1", "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["quantum_flops"] == quantum_flops_formula(Genome.parse("q3-amplitude-cz-linear-ry"))
    for key in ("classical_flops", "training_flops", "params_quantum", "params_classical"):
        assert out[key] > 0
    transpiled = out["transpiled"]
    assert transpiled["target"] == "fake_fez" and transpiled["seed_transpiler"] == 0
    for key in ("optimization_level", "ops", "size", "depth", "two_qubit_gates", "two_qubit_depth"):
        assert key in transpiled
    assert transpiled["duration_s"] > 0 and transpiled["predicted_qpu_s"] > 0


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--genome", "q4-angle-cz-circular-rq"], "rotations part"),
        (["--genome", "q4-angle-cz-circular-ry", "--ibm-target", "fake_nowhere"], "fake_nowhere"),
        (
            ["--genome", "q10-angle-cz-circular-ry", "--ibm-target", "fake_manila"],
            "at most 5 qubits",
        ),
        (["--genome", "q4-angle-cz-circular-ry", "--features", "4"], "'features'"),
    ],
)
def test_inspect_bad_input(
    args: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["inspect", *args]) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1


def test_inspect_json_and_draw(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["inspect", "--genome", "q3-angle-cz-circular-ry", "--features", "4", "--classes", "3"]
    assert main([*args, "--json", "--draw"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n_features"] == 4 and out["transpiled"]["two_qubit_gates"] >= 3
    assert "Rx(x[0])" in out["circuit"]
