#!/usr/bin/env bash
# The GPU matrices of `gp-spec bench`, planned for about 8 minutes on one H100/H200 (estimated):
#   1. variants (plain, reference, peer, fused, lazy(4), graphed) on mlp, dcgan, resnet at batch
#      64, 256, 1024, float32 and bfloat16 autocast;
#   2. the target cell, resnet batch 256, with every variant (func and compiled too);
#   3. the user-penalty mode for wgan-gp, r1 and dragan implementations written as users write
#      them (weights 10, 5, 10) on mlp, dcgan, resnet at batch 64 and 256, both precisions;
#   4. the plausibility check (lazy never faster than plain, time never falling with the batch)
#      and the targets (reference vs peer; best exact variant vs 2.0x plain at resnet 256 fp32).
# Writes <device>-<date>-*.{json,md,png} and <device>-<date>-summary.txt into $OUT if set, else
# bench/results/. Exit status: 0, or 1 when a result is implausible.
#
#   bash bench/run_gpu.sh                          # on a GPU machine
#   DEVICE=cpu SIZES=tiny bash bench/run_gpu.sh    # dry run of every step on the CPU, tiny sizes
# Knobs: PYTHON (interpreter), ITERS (rounds, 15), MAX_SECONDS (per case, 3), DTYPES,
# THREADS (torch threads; 1 by default on the CPU, where threads contending with other jobs
# swing times tenfold). The tiny dry run skips torch.compile (minutes on a CPU).
set -euo pipefail
cd "$(dirname "$0")/.."
py="${PYTHON:-python3}"
device="${DEVICE:-cuda}"
out="${OUT:-bench/results}"
iters="${ITERS:-15}"
max_s="${MAX_SECONDS:-3}"
mkdir -p "$out"
if [ "$device" = cpu ]; then
  name=cpu
else
  name="$("$py" -c 'import torch; n = torch.cuda.get_device_name().split(); print(n[min(1, len(n) - 1)].lower())' 2>/dev/null)" \
    || { echo "run_gpu.sh: no CUDA device visible to torch (DEVICE=cpu SIZES=tiny for a dry run)" >&2; exit 2; }
fi
stamp="$(date -u +%Y%m%d)"
base="$out/$name-$stamp"
target_variants=(peer fused lazy func compiled graphed)
if [ "${SIZES:-full}" = tiny ]; then
  matrix=(mlp:8,32 dcgan:8); target=(dcgan:8); users=(mlp:8 dcgan:8); iters=3; max_s=1
  target_variants=(peer fused lazy func graphed)
else
  matrix=(mlp:64,256,1024 dcgan:64,256,1024 resnet:64,256,1024); target=(resnet:256)
  users=(mlp:64,256 dcgan:64,256 resnet:64,256)
fi
read -r -a dtypes <<< "${DTYPES:-float32 bfloat16}"
common=(--device "$device" --dtype "${dtypes[@]}" --iters "$iters" --warmup 2
        --max-seconds "$max_s" --quiet)
[ "${dtypes[*]}" = float32 ] || common+=(--amp)
threads="${THREADS:-$([ "$device" = cpu ] && echo 1 || echo)}"
[ -z "$threads" ] || common+=(--threads "$threads")
bench() { "$py" -m gp_spec.benchmark.cli "$@"; }
t0=$SECONDS

echo "run_gpu.sh: 1/4 variants matrix" >&2
bench variants "${common[@]}" --critic "${matrix[@]}" --variants peer fused lazy graphed \
  --json "$base-variants.json" --markdown "$base-variants.md" > /dev/null

echo "run_gpu.sh: 2/4 target cell with every variant ($((SECONDS - t0)) s)" >&2
bench variants "${common[@]}" --critic "${target[@]}" --variants "${target_variants[@]}" \
  --json "$base-target.json" --markdown "$base-target.md" > /dev/null

echo "run_gpu.sh: 3/4 user penalties ($((SECONDS - t0)) s)" >&2
status=0
for entry in "gp_spec.examples.penalties:wgan_gp wgan-gp 10" "bench/examples_bench.py:r1 r1 5" \
             "bench/examples_bench.py:dragan dragan 10"; do
  read -r impl spec weight <<< "$entry"
  bench "$impl" --spec "$spec" --weight "$weight" "${common[@]}" --critic "${users[@]}" \
    --json "$base-user-$spec.json" --markdown "$base-user-$spec.md" \
    --png "$base-user-$spec.png" > /dev/null || status=$?
  [ "$status" -le 1 ] || exit "$status"
done

echo "run_gpu.sh: 4/4 plausibility and targets ($((SECONDS - t0)) s)" >&2
"$py" -m gp_spec.benchmark.sanity "$base-variants.json" "$base-target.json" \
  | tee "$base-summary.txt" || status=1
echo "run_gpu.sh: done in $((SECONDS - t0)) s; results in $base-*" >&2
exit "$status"
