#!/usr/bin/env bash
# Create (or reuse) the virtual environment of benchmarks/peers/nir_snntorch.py:
# snnTorch 1.0.0 with nirtorch and nir on the CPU build of torch 2.13.0, plus what
# topspark_ros's own core imports (numba, opencv, pyyaml, mlxtend), so the script can run
# both simulators on the same input spikes in one process.
#
# Kept apart from the project's .venv (torch is never a project dependency) and from
# setup_peers.sh's BindsNET venv.  As there, torch==2.13.0 (the CPU wheel on local disk)
# goes in first and is repeated in the later install so that nothing swaps it for a
# multi-GB CUDA build.
#
# Usage: bash benchmarks/peers/setup_nir_peers.sh      (safe to run again)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="${NIR_PEERS_VENV:-$ROOT/.venv-nir-peers}"
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null 2>&1 || PY=python3

if [ ! -x "$VENV/bin/python" ]; then
    echo "[setup_nir_peers] creating $VENV with $($PY --version)"
    "$PY" -m venv "$VENV"
else
    echo "[setup_nir_peers] reusing $VENV ($("$VENV/bin/python" --version))"
fi

PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)

# 1. torch first, exactly 2.13.0 (the CPU wheel on local disk). Never loosen this.
"${PIP[@]}" install 'torch==2.13.0'

# 2. snnTorch, its NIR bridge, and topspark_ros's core imports; torch pinned again.
"${PIP[@]}" install 'torch==2.13.0' 'snntorch==1.0.0' 'nirtorch>=2,<3' 'nir==1.0.8' h5py \
    'numpy>=1.26,<2.5' 'numba>=0.60' 'pyyaml>=6' 'opencv-python-headless>=4.8' \
    'matplotlib>=3.8' 'mlxtend>=0.23' 'scikit-learn>=1.3' 'tqdm>=4.60'

# 3. Smoke test.
"$VENV/bin/python" - <<'PY'
import torch, snntorch, nir, nirtorch
from importlib.metadata import version
print(f"[setup_nir_peers] ok: torch {torch.__version__}, snntorch {version('snntorch')}, "
      f"nirtorch {version('nirtorch')}, nir {version('nir')}")
PY
echo "[setup_nir_peers] run: $VENV/bin/python $HERE/nir_snntorch.py --help"
