from __future__ import annotations

import json
import subprocess
import sys

import pytest

from faqnas_qiskit.cli import main


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


def test_console_script_runs_as_a_process() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "faqnas_qiskit", "evaluate", "--genome", "q4-bad"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("faqnas: error:") and proc.stderr.count("\n") == 1
