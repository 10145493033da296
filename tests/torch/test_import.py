"""``import mixtura`` never imports PyTorch; ``mixtura.torch`` does."""

import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")


def test_import_mixtura_does_not_import_torch():
    code = "import mixtura, sys; assert 'torch' not in sys.modules"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_mixtura_torch_exports_the_layers():
    import mixtura.torch

    for name in mixtura.torch.__all__:
        assert getattr(mixtura.torch, name) is not None
