import sys

import pytest

import mixtura
from mixtura.cli import main


def test_demo_prints_table_and_model_and_writes_png(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    path = tmp_path / "d.png"
    assert main(["demo", "--output", str(path)]) == 0
    out = capsys.readouterr().out
    assert "Old Faithful" in out
    assert "Azzalini" in out
    # the BIC and AIC tables, rows K = 1..6, four covariance types
    assert "BIC = -2 log L + p log n (lower is better)" in out
    assert "AIC = -2 log L + 2 p (lower is better)" in out
    header = "  K    spherical        diag        tied        full"
    assert out.count(header) == 2
    assert "2322.19*" in out
    assert "Best model by BIC: full, K = 2" in out
    for field in ("weights", "means", "covariances", "log-likelihood", "converged"):
        assert field in out
    assert "n_iter" in out
    assert f"Plot written to {path}" in out
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 10_000


def test_demo_options(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    path = tmp_path / "small.png"
    assert main(["demo", "--output", str(path), "--max-components", "2"]) == 0
    out = capsys.readouterr().out
    table = out.split("BIC = ")[1]
    assert "\n  2 " in table
    assert "\n  3 " not in table
    assert path.exists()


def test_demo_without_matplotlib(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    path = tmp_path / "d.png"
    assert main(["demo", "--output", str(path), "--max-components", "2"]) == 0
    out = capsys.readouterr().out
    assert "Best model by BIC: full, K = 2" in out
    assert "Plot skipped" in out
    assert 'pip install "mixtura[plot]"' in out
    assert not path.exists()


def test_demo_unwritable_output(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    path = tmp_path / "no-such-dir" / "d.png"
    assert main(["demo", "--output", str(path), "--max-components", "1"]) == 1
    captured = capsys.readouterr()
    assert "cannot write the plot" in captured.err
    assert "Best model by BIC" in captured.out


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"mixtura {mixtura.__version__}"


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["no-such-command"],
        ["demo", "--max-components", "0"],
        ["demo", "--max-components", "many"],
        ["demo", "--no-such-option"],
    ],
)
def test_bad_arguments_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert "usage: mixtura" in capsys.readouterr().err


def test_argv_defaults_to_sys_argv(monkeypatch, capsys):
    # the installed console script calls main() with no arguments
    monkeypatch.setattr(sys, "argv", ["mixtura", "--version"])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 0
    assert mixtura.__version__ in capsys.readouterr().out
