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


# -- the command as a process -----------------------------------------------------
def _process(*args, code="from mixtura.cli import main; raise SystemExit(main())"):
    import subprocess

    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_python_dash_m_mixtura_is_the_command():
    import subprocess

    done = subprocess.run(
        [sys.executable, "-m", "mixtura", "--version"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0
    assert done.stdout.strip() == f"mixtura {mixtura.__version__}"


def test_without_click_one_line_and_exit_1_and_import_mixtura_still_works():
    code = (
        "import sys; sys.modules['click'] = None; import mixtura, mixtura.cli; "
        "from mixtura.cli import main; raise SystemExit(main())"
    )
    done = _process("fit", "data.csv", "-o", "m.mixtura", code=code)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "mixtura: the command line needs Click; install it with "
        'pip install "mixtura[cli]"'
    ]


def test_help_and_no_command(capsys):
    assert main(["-h"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: mixtura [OPTIONS] COMMAND")
    for command in ("fit", "select", "predict", "sample", "info", "demo"):
        assert f"  {command} " in out


def test_a_newly_registered_family_is_offered(tmp_path, monkeypatch, capsys):
    from mixtura.families import FAMILIES, Family

    monkeypatch.setitem(FAMILIES, "my_gamma", FAMILIES["gamma"])
    assert issubclass(FAMILIES["my_gamma"], Family)
    assert main(["fit", "-h"]) == 0
    assert "my_gamma" in capsys.readouterr().out
    data = tmp_path / "x.csv"
    rng = __import__("numpy").random.default_rng(0)
    data.write_text(
        "a,b\n"
        + "".join(f"{a!r},{b!r}\n" for a, b in rng.gamma(2.0, size=(40, 2)).tolist())
    )
    model = tmp_path / "m.mixtura"
    assert (
        main(["fit", str(data), "--family", "my_gamma", "-k", "2", "-o", str(model)])
        == 0
    )
    loaded = mixtura.load(model)
    assert type(loaded).__name__ == "MixtureModel" and loaded.family == "my_gamma"
    assert "MixtureModel (my_gamma, K = 2)" in capsys.readouterr().out


def test_demo_output_without_extension_is_png(tmp_path, capsys, monkeypatch):
    pytest.importorskip("matplotlib")
    path = tmp_path / "plot"
    assert main(["demo", "--output", str(path), "--max-components", "1"]) == 0
    assert f"Plot written to {path}" in capsys.readouterr().out
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
