"""``mixtura plot MODEL DATA -o PNG [--kind ...]``."""

import io
import os
import subprocess
import sys

import numpy as np
import pytest

from mixtura.cli import main
from mixtura.datasets import load_faithful

pytest.importorskip("matplotlib")
pytest.importorskip("click")
from matplotlib.image import imread

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Old Faithful and a 1-D sample as CSV, and a model fitted to each."""
    root = tmp_path_factory.mktemp("plot")
    faithful = root / "faithful.csv"
    np.savetxt(
        faithful,
        load_faithful(),
        delimiter=",",
        header="eruptions,waiting",
        comments="",
    )
    rng = np.random.default_rng(0)
    lengths = np.concatenate([rng.normal(0, 1, 120), rng.normal(5, 1, 80)])
    one = root / "lengths.csv"
    np.savetxt(one, lengths[:, None], header="length", comments="")
    for data, model in ((faithful, "faithful.mixtura"), (one, "lengths.mixtura")):
        assert main(["fit", str(data), "-k", "2", "-o", str(root / model)]) == 0
    return root


def _variance(path):
    with open(path, "rb") as handle:
        pixels = imread(io.BytesIO(handle.read()), format="png")
    return float(pixels[..., :3].var())


def test_plot_through_a_subprocess_writes_a_png(files, tmp_path):
    output = tmp_path / "clusters.png"
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mixtura",
            "plot",
            str(files / "faithful.mixtura"),
            str(files / "faithful.csv"),
            "-o",
            str(output),
        ],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert f"wrote the clusters plot of 272 rows to {output}" in done.stdout
    assert output.read_bytes()[:8] == PNG
    assert _variance(output) > 1e-3


@pytest.mark.parametrize(
    ("kind", "model", "extra"),
    [
        ("pairs", "faithful", []),
        ("density", "faithful", ["--features", "waiting,eruptions"]),
        ("uncertainty", "faithful", []),
        ("responsibilities", "faithful", []),
        ("density1d", "lengths", []),
        ("uncertainty", "lengths", []),
    ],
)
def test_every_kind_writes_an_image(files, tmp_path, capsys, kind, model, extra):
    output = tmp_path / f"{kind}.png"
    data = files / ("faithful.csv" if model == "faithful" else "lengths.csv")
    arguments = ["plot", str(files / f"{model}.mixtura"), str(data), "--kind", kind]
    assert main([*arguments, *extra, "-o", str(output)]) == 0
    assert output.read_bytes()[:8] == PNG
    assert _variance(output) > 1e-3
    assert f"wrote the {kind} plot" in capsys.readouterr().out


def test_svg_by_extension(files, tmp_path):
    output = tmp_path / "plot.svg"
    model, data = str(files / "faithful.mixtura"), str(files / "faithful.csv")
    assert main(["plot", model, data, "-o", str(output)]) == 0
    assert output.read_text()[:100].lstrip().startswith("<?xml")


@pytest.mark.parametrize(
    ("model", "data", "extra", "message"),
    [
        ("faithful", "faithful", ["--kind", "density1d"], "draws one feature"),
        ("lengths", "lengths", ["--kind", "clusters"], "two or more features"),
        ("lengths", "lengths", ["--kind", "pairs"], "two or more features"),
        ("faithful", "faithful", ["--features", "waiting"], "shows two features"),
        ("faithful", "faithful", ["--features", "a,b"], "not among the model's"),
        ("faithful", "lengths", [], "lacks eruptions, waiting"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    files, tmp_path, capsys, model, data, extra, message
):
    output = tmp_path / "bad.png"
    arguments = [
        "plot",
        str(files / f"{model}.mixtura"),
        str(files / f"{data}.csv"),
        *extra,
        "-o",
        str(output),
    ]
    assert main(arguments) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith("mixtura plot: error: ")
    assert message in error
    assert not output.exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--kind", "nope"], "'nope' is not one of 'clusters'"),
        (["-o", "plot.jpg"], "one of .png, .pdf, .svg"),
    ],
)
def test_usage_errors_exit_2(files, capsys, extra, message):
    model, data = str(files / "faithful.mixtura"), str(files / "faithful.csv")
    arguments = ["plot", model, data, *extra]
    if "-o" not in extra:
        arguments += ["-o", "never.png"]
    with pytest.raises(SystemExit) as raised:
        main(arguments)
    assert raised.value.code == 2
    assert message in capsys.readouterr().err


def test_without_matplotlib_names_the_install(files, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    output = tmp_path / "plot.png"
    model, data = str(files / "faithful.mixtura"), str(files / "faithful.csv")
    assert main(["plot", model, data, "-o", str(output)]) == 1
    error = capsys.readouterr().err
    assert 'pip install "mixtura[plot]"' in error
    assert error.count("\n") == 1
    assert not output.exists()


def test_help_lists_the_kinds(capsys):
    assert main(["plot", "--help"]) == 0
    out = capsys.readouterr().out
    for kind in ("clusters", "pairs", "density1d", "responsibilities"):
        assert kind in out
