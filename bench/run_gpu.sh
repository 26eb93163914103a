#!/usr/bin/env bash
# The GPU matrix of `gp-spec bench`: mlp, dcgan and resnet critics at batch 64, 256 and 1024,
# in float32 and in bfloat16 autocast; writes <gpu>-<date>-<dtype>.json and .md into $OUT if
# set, else into bench/results/. About 4 minutes per dtype on one H100 (a third of it is
# torch.compile). DTYPES="float32" or ITERS=50 narrow or widen it; extra arguments go to the CLI.
# Usage: bash bench/run_gpu.sh [--variants peer fused ...]
set -euo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-bench/results}"
mkdir -p "$out"
gpu="$(python3 -c 'import torch; n = torch.cuda.get_device_name().split(); print(n[min(1, len(n) - 1)].lower())' 2>/dev/null)" \
  || { echo "run_gpu.sh: no CUDA device visible to torch" >&2; exit 2; }
stamp="$(date -u +%Y%m%d)"
for dtype in ${DTYPES:-float32 bfloat16}; do
  python3 -m gp_spec.benchmark.cli --device cuda --critic mlp dcgan resnet --batch 64 256 1024 \
    --dtype "$dtype" --iters "${ITERS:-20}" --warmup 5 \
    --json "$out/$gpu-$stamp-$dtype.json" --markdown "$out/$gpu-$stamp-$dtype.md" "$@"
done
