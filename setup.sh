#!/usr/bin/env bash
# photo3d set-up for a fresh Linux machine (Debian/Ubuntu), then a render of the bundled sample.
#   bash setup.sh              # install everything, render inputs/sample.png into outputs/sample/
#   bash setup.sh --no-sample  # install only
# Installs: the headless OpenGL system libraries (EGL, Mesa) where missing; PyTorch (the CPU
# build where there is no NVIDIA GPU); the Python requirements; photo3d itself (editable, with
# the `photo3d` command); the network weights where the network allows.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
SAMPLE=1
[ "${1:-}" = "--no-sample" ] && SAMPLE=0

# 1) Headless OpenGL (EGL + Mesa's software rasteriser; NVIDIA machines use their driver's EGL).
need=()
for pkg in libegl1 libegl-mesa0 libgl1-mesa-dri; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    echo "setup: installing ${need[*]} (headless OpenGL)"
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "setup: please install the EGL/Mesa libraries (Debian: ${need[*]}); rendering needs them" >&2
  fi
fi

# 2) PyTorch: keep an existing install; else CUDA build with an NVIDIA GPU, CPU build without.
if ! $PY -c "import torch" >/dev/null 2>&1; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    $PY -m pip install -q "torch>=2.4"
  else
    # The CPU build. Where pip has no local CPU wheel, set PHOTO3D_TORCH_INDEX to the CPU
    # wheel index of pytorch.org so that pip does not pull the multi-GB CUDA build.
    $PY -m pip install -q "torch==2.13.0" ${PHOTO3D_TORCH_INDEX:+--index-url "$PHOTO3D_TORCH_INDEX"}
  fi
fi

# 3) Python requirements and photo3d itself.
$PY -m pip install -q -r requirements.txt
$PY -m pip install -q --no-deps -e .

# 4) Check headless rendering now, with a clear message if it cannot work.
EGL_PLATFORM=${EGL_PLATFORM:-surfaceless} $PY -c "from photo3d.render import gl_context; gl_context()" \
  || { echo "setup: headless OpenGL does not work here (see the message above)" >&2; exit 1; }

# 5) Weights: Depth Anything V2 Small (real depth for photos without a depth map) and the
# reference's inpainting networks, from live mirrors, checked by hash or schema. Offline
# (or behind a firewall) photo3d still runs: heuristic depth and the non-learned fill.
if [ -n "${PHOTO3D_OFFLINE:-}${HF_HUB_OFFLINE:-}" ]; then
  echo "setup: offline (PHOTO3D_OFFLINE/HF_HUB_OFFLINE set): no weights downloaded; photo3d uses its fallbacks"
else
  got=(); failed=()
  for w in depth_anything_v2_vits edge depth color; do
    if $PY run.py weights download "$w" --quiet >/dev/null 2>&1; then got+=("$w"); else failed+=("$w"); fi
  done
  if [ ${#got[@]} -eq 0 ]; then
    echo "setup: no weights downloaded (offline?); photo3d uses heuristic depth and the non-learned fill; run 'photo3d weights download' later"
  else
    echo "setup: weights installed: ${got[*]}${failed:+; not downloaded: ${failed[*]}}"
  fi
fi

# 6) Render the bundled sample (the rendered scene of inputs/make_sample.py).
if [ "$SAMPLE" = 1 ]; then
  $PY run.py --image inputs/sample.png --depth inputs/sample_disparity.png --out outputs
fi
