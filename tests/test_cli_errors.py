"""Bad input to the command line: exit status 2 and one line on stderr, no traceback.

The cases of the issue run through real processes (``python -m mixtura``), all at
once (each process spends most of its second importing scikit-learn); the other
refusals run in this process through :func:`mixtura.cli.main`.
"""

import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import mixtura
import mixtura.cli._io
import mixtura.io
from mixtura.cli import main
from mixtura.datasets import load_faithful


def _newer_format(source, target):
    """A copy of model file ``source`` that claims a newer format version."""
    with zipfile.ZipFile(source) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    document = json.loads(members["model.json"])
    document["format_version"] = mixtura.io.FORMAT_VERSION + 1
    members["model.json"] = json.dumps(document).encode()
    with zipfile.ZipFile(target, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def _tampered(source, target):
    """A copy of ``source`` whose weights no longer sum to one."""
    with zipfile.ZipFile(source) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    from io import BytesIO

    buffer = BytesIO()
    np.save(buffer, np.log(np.array([0.9, 0.9])))
    members["arrays/log_weights.npy"] = buffer.getvalue()
    with zipfile.ZipFile(target, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad")
    X = load_faithful()[:50]
    with open(folder / "good.csv", "w") as handle:
        handle.write("eruptions,waiting\n")
        handle.writelines(f"{a!r},{b!r}\n" for a, b in X.tolist())
    model = mixtura.GaussianMixture(2, random_state=0).fit(X)
    mixtura.save(model, folder / "good.mixtura")
    model.feature_names_in_ = np.array(["eruptions", "waiting"], dtype=object)
    mixtura.save(model, folder / "named.mixtura")
    levels = np.array([["x", "u"], ["y", "v"]] * 10, dtype=object)
    mixtura.save(mixtura.CategoricalMixture(2).fit(levels), folder / "text.mixtura")
    _newer_format(folder / "good.mixtura", folder / "newer.mixtura")
    _tampered(folder / "good.mixtura", folder / "tampered.mixtura")
    (folder / "binary.csv").write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00\x01" * 20)
    (folder / "empty.csv").write_text("")
    (folder / "header.csv").write_text("a,b\n")
    (folder / "ragged.csv").write_text("a,b\n1,2\n3\n")
    (folder / "text.csv").write_text("a,b\n1,x\n2,y\n3,z\n")
    (folder / "levels.csv").write_text("p,q\nx,u\ny,v\n")
    np.savez(folder / "arrays.npz", X=X)
    return folder


#: case -> (arguments, what the message says); run as processes
PROCESS_CASES = {
    "missing data file": (["fit", "nowhere.csv", "-o", "m.mixtura"], "does not exist"),
    "unreadable CSV": (["fit", "binary.csv", "-o", "m.mixtura"], "not UTF-8"),
    "newer format version": (["info", "newer.mixtura"], "Upgrade mixtura"),
    "tampered model file": (
        ["predict", "tampered.mixtura", "good.csv", "-o", "out.csv"],
        "not a probability vector",
    ),
}


@pytest.fixture(scope="module")
def processes(files):
    """Every case of :data:`PROCESS_CASES` run at once: case -> (status, stderr)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    started = {
        case: subprocess.Popen(
            [sys.executable, "-m", "mixtura", *arguments],
            cwd=files,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for case, (arguments, _) in PROCESS_CASES.items()
    }
    done = {}
    for case, process in started.items():
        _, stderr = process.communicate(timeout=120)
        done[case] = (process.returncode, stderr)
    return done


@pytest.mark.parametrize("case", list(PROCESS_CASES))
def test_bad_input_exits_2_with_one_line(case, processes, files):
    status, stderr = processes[case]
    assert status == 2, stderr
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith(f"mixtura {PROCESS_CASES[case][0][0]}: error: ")
    assert PROCESS_CASES[case][1] in lines[0]
    assert not (files / "m.mixtura").exists()


def refused(argv, capsys, cwd, monkeypatch):
    """``main(argv)`` in ``cwd``: its status and the one line it wrote to stderr."""
    monkeypatch.chdir(cwd)
    status = main(argv)
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return status, lines[0]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["fit", "good.csv", "--columns", "eruptions,depth", "-o", "m.mixtura"],
            "has no column 'depth'; its columns are eruptions, waiting",
        ),
        (
            ["fit", "text.csv", "-o", "m.mixtura"],
            "column 'b' of text.csv is not numeric (row 1 holds 'x'), and the "
            "gaussian family needs numbers",
        ),
        (["fit", "empty.csv", "-o", "m.mixtura"], "is empty"),
        (["fit", "header.csv", "-o", "m.mixtura"], "no data rows"),
        (["fit", "ragged.csv", "-o", "m.mixtura"], "line 3 has 1 fields"),
        (["fit", "good.xlsx", "-o", "m.mixtura"], "mixtura reads .csv"),
        (["fit", "arrays.npz", "--key", "Y", "-o", "m.mixtura"], "its arrays are X"),
        (["fit", "good.csv", "-k", "51", "-o", "m.mixtura"], "the 50 rows"),
        (["fit", "good.csv", "--model", "XYZ", "-o", "m.mixtura"], "covariance_type"),
        (
            ["fit", "good.csv", "--family", "poisson", "-o", "m.mixtura"],
            "non-negative integer counts",
        ),
        (
            ["fit", "good.csv", "--family", "poisson", "--model", "full", "-o", "m"],
            "no covariance models",
        ),
        (["fit", "text.csv", "--family", "auto", "-o", "m"], "cannot choose"),
        (["predict", "nowhere.mixtura", "good.csv", "-o", "o.csv"], "does not exist"),
        (["predict", "good.csv", "good.csv", "-o", "o.csv"], "not a zip archive"),
        (
            ["predict", "named.mixtura", "text.csv", "-o", "o.csv"],
            "lacks eruptions, waiting",
        ),
        (
            ["predict", "good.mixtura", "text.csv", "-o", "o.csv"],
            "column 'b' of text.csv is not numeric",
        ),
        (
            ["predict", "good.mixtura", "arrays.npz", "--columns", "x9", "-o", "o.csv"],
            "its columns are x0, x1",
        ),
        (["predict", "text.mixtura", "levels.csv", "-o", "o.npy"], "holds text"),
        (["info", "good.csv"], "not a zip archive"),
    ],
)
def test_more_bad_input_exits_2(argv, message, files, capsys, monkeypatch):
    status, line = refused(argv, capsys, files, monkeypatch)
    assert status == 2
    assert line.startswith(f"mixtura {argv[0]}: error: ")
    assert message in line


def test_parquet_without_pyarrow(files, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    (files / "data.parquet").write_bytes(b"PAR1")
    status, line = refused(
        ["fit", "data.parquet", "-o", "m.mixtura"], capsys, files, monkeypatch
    )
    assert status == 2 and 'pip install "mixtura[parquet]"' in line


def test_internal_failure_exits_1_with_one_line(files, capsys, monkeypatch):
    def broken(model, path):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(mixtura.io, "save", broken)
    status, line = refused(
        ["fit", "good.csv", "-k", "2", "-o", "m.mixtura"], capsys, files, monkeypatch
    )
    assert status == 1
    assert line.startswith("mixtura fit: internal error: RuntimeError: disk on fire")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["fit", "good.csv", "--seed", "-1", "-o", "m"], "0<=x<=4294967295"),
        (["fit", "good.csv", "--seed", str(2**32), "-o", "m"], "0<=x<=4294967295"),
        (["select", "good.csv", "-k", "0"], "from 1 to 1000"),
        (["select", "good.csv", "-k", "1-1001"], "from 1 to 1000"),
        (["select", "good.csv", "-k", "3-1"], "is empty"),
        (["select", "good.csv", "-k", "two"], "expected K, K-K or K,K"),
        (["fit", "good.csv", "--n-init", "0", "-o", "m"], "1<=x<=1000"),
        (["fit", "good.csv"], "Missing option '--output'"),
        (["fit", "good.csv", "-o", "no/such/dir/m.mixtura"], "does not exist"),
        (["fit", "good.csv", "-o", "."], "is a directory"),
        (["predict", "good.mixtura", "good.csv", "-o", "out.xlsx"], ".csv, .npy"),
        (["sample", "good.mixtura", "-n", "0", "-o", "s.csv"], "1<=x<=100000000"),
        (["fit", "good.csv", "--family", "nope", "-o", "m"], "'nope' is not one of"),
        (["demo", "--max-components", "0"], "1<=x<=1000"),
        (["demo", "--max-components", "273"], "272 rows of Old Faithful"),
        (["demo", "--seed", "-5"], "0<=x<=4294967295"),
        (["demo", "--output", "plot.nosuchformat"], "cannot write .nosuchformat"),
        (["demo", "--output", "."], "is a directory"),
    ],
)
def test_bounded_options_are_usage_errors(argv, message, files, capsys, monkeypatch):
    monkeypatch.chdir(files)
    if argv[0] == "demo" and "--output" in argv:
        pytest.importorskip("matplotlib")
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"usage: mixtura {argv[0]}")
    assert message in " ".join(err.split())
    assert "Traceback" not in err
