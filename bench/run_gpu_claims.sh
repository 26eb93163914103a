#!/usr/bin/env bash
# Full-size C1, C2, C3, F1 and C5A (10 seeds each, the registered full designs) in one GPU
# window, with
# the many-runs trainer (gp_spec.harness.many: all runs of one shape stacked in one process),
# recorded into the committed results folder, then REPRODUCTION.md regenerated from it.
#
#   bash bench/run_gpu_claims.sh                 # on a machine with one CUDA GPU
#   bash bench/run_gpu_claims.sh --dry-run       # CPU, every run shrunk to 3 steps of tiny
#                                                # networks (--smoke): checks the whole path
#   bash bench/run_gpu_claims.sh --claims C3     # a subset (comma-separated)
#   bash bench/run_gpu_claims.sh --with-c6       # also C6 (NOT in one window: see below)
#
# Environment: PYTHON (default python), RECORDS (default bench/results/claims; on a machine
# whose outputs come back only from a scratch folder, point it there and copy the folders
# back), OUT (default /tmp/gp-spec-claims: training cache, resumable), WORKERS (evaluation
# threads, default: the number of cores).
#
# What runs (registered full mode of each experiment; `gp-spec reproduce list`):
#   C1 + C2 together: 200 runs of 3x512 MLPs (C1: 3 data sets x 2 weights x {LP, GP} x 10
#     seeds = 120; C2 adds 8 Gaussians x 4 more weights x {LP, GP} x 10 = 80), each 1000
#     generator steps of 10 critic steps (100 for the first 25) = 12,250 critic updates, batch
#     256, an evaluation every 5 steps (exact W1 of 500 samples); all 200 in ONE stacked group.
#   C3: 20 critic-only runs (2x128, batch 8192, 20,000 steps, weights 10 and 100).
#   F1: reads C2's GP runs at weights 1, 5, 10 (no training of its own).
#   C5A: 50 runs of 2x512 MLPs, 10,000 steps, batch 128 (three stacked groups: no GP;
#     1-GP, R1, 0-GP; 0-GP-sample on real + fake, whose measure has twice the points).
#
# GPU time, estimated from FLOP counts and CPU measurements (no GPU was available to measure
# it; derivation in bench/results/claims/_intro.md): C1 + C2 about 8.9 PFLOP of float32
# matmuls (3.5 GFLOP per critic update per run; ~17 ms per stacked critic update of all 200
# runs at 40 TFLOP/s, H100/H200 float32 without TF32) but bound by Python: ~10 ms per update
# for the 200 runs' own random draws plus ~20 ms per update (amortised) for the 40,000
# evaluations, which run in threads beside training -> ~6 min; C3 ~1.5 min; loading the
# runs and drawing the figures ~2 min; C5A ~2 min (last). Total ~11-12 min (C1-C3 and F1
# ~10 min), uncertain by about +-50%.
# C6 full (150 runs of 30,000-200,000 iterations, ~330 PFLOP) needs ~3 GPU-hours and does
# not fit a 15-minute window; --with-c6 runs it anyway (resumable from OUT on the same host).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python}
RECORDS=${RECORDS:-bench/results/claims}
OUT=${OUT:-/tmp/gp-spec-claims}
WORKERS=${WORKERS:-$(nproc 2>/dev/null || echo 4)}
CLAIMS="C1,C2,C3,F1,C5A"
DEVICE="cuda"
EXTRA=()
REPORT="REPRODUCTION.md"

while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run)
      DEVICE="cpu"; EXTRA=(--smoke); WORKERS=1
      OUT=$(mktemp -d /tmp/gp-spec-claims-dry.XXXXXX)
      RECORDS="$OUT/records"; REPORT="$OUT/REPRODUCTION.md" ;;
    --claims) CLAIMS="$2"; shift ;;
    --with-c6) CLAIMS="$CLAIMS,C6" ;;
    *) echo "run_gpu_claims.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

if [ "$DEVICE" = "cuda" ]; then
  "$PYTHON" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" || {
    echo "run_gpu_claims.sh: no CUDA device here; use --dry-run to test the path on a CPU" >&2
    exit 2; }
  "$PYTHON" -c "import torch; print('GPU:', torch.cuda.get_device_name(0), '| torch', torch.__version__)"
fi

echo "== $(date -u +%FT%TZ) claims $CLAIMS, device $DEVICE, records -> $RECORDS, cache $OUT"
start=$(date +%s)
status=0
# --threads 1: the GPU does the matmuls; one torch CPU thread per evaluation thread avoids
# oversubscribing the host's cores (the evaluations run in WORKERS threads)
"$PYTHON" -m gp_spec.cli reproduce "$CLAIMS" --device "$DEVICE" --many-runs --threads 1 \
  --eval-workers "$WORKERS" --out "$OUT" --record "$RECORDS" "${EXTRA[@]}" || status=$?
echo "== $(date -u +%FT%TZ) reproduce exit $status (1 = some claim not fully reproduced)" \
     "after $(( $(date +%s) - start )) s"
[ "$status" -le 1 ] || exit "$status"

"$PYTHON" -m gp_spec.cli reproduce --report --results "$RECORDS" --output "$REPORT"
echo "== report: $REPORT"
