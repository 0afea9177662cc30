#!/usr/bin/env bash
# The prepared GPU check (issue: a lean, GPU-ready engine). On a machine with a CUDA GPU it runs every conformance
# folder with --provider cuda and `fewstep bench --device cuda` on the tiny models and the real-size skeleton model
# (float32, and float16 as `FewStep.RealSize fill --float16` converts it), with and without CUDA graphs, then prints
# one table. Tolerances are the CPU ones (the corpus's); the corpus has no float16 cases, so the float16 pipelines
# are checked by the CUDA-only tests of tests/FewStep.Onnx.Tests, which the script runs when it has the .NET SDK.
#
#   tests/gpu/check.sh                  # from a checkout with .NET: builds, fills the real-size model, runs
#   tests/gpu/check.sh --app DIR        # with a self-contained publish of tests/FewStep.Conformance and src/FewStep.Cli
#                                       # in DIR/conformance and DIR/cli (what ../shared/tools/gpu-kit carries)
#
# Options: --shared DIR (default ../shared/conformance), --realsize DIR and --realsize-float16 DIR (a filled real-size
# model and its float16 copy; default: fill both with tests/FewStep.RealSize unless --no-realsize), --out DIR
# (results; default $OUT or ./gpu-check).
set -uo pipefail
cd "$(dirname "$0")/../.."

shared=../shared/conformance app="" realsize="" realsize16="" skip_realsize=0 out="${OUT:-gpu-check}"
while [ $# -gt 0 ]; do
  case "$1" in
    --shared) shared=$2; shift 2 ;;
    --app) app=$2; shift 2 ;;
    --realsize) realsize=$2; shift 2 ;;
    --realsize-float16) realsize16=$2; shift 2 ;;
    --no-realsize) skip_realsize=1; shift ;;
    --out) out=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"

if ! command -v nvidia-smi >/dev/null || ! nvidia-smi -L >/dev/null 2>&1; then
  echo "needs a CUDA GPU: nvidia-smi finds none" >&2
  exit 3
fi
nvidia-smi -L | tee "$out/gpu.txt"

if [ -n "$app" ]; then
  conformance=("$app/conformance/FewStep.Conformance")
  cli=("$app/cli/fewstep")
else
  dotnet build FewStepFunctions.sln -c Release >/dev/null || exit 1
  conformance=(dotnet run -c Release --no-build --project tests/FewStep.Conformance --)
  cli=(dotnet run -c Release --no-build --project src/FewStep.Cli --)
  if [ -z "$realsize" ] && [ "$skip_realsize" -eq 0 ]; then
    realsize=$(dotnet run -c Release --project tests/FewStep.RealSize -- fill) || exit 1
    realsize16=$(dotnet run -c Release --project tests/FewStep.RealSize -- fill --float16) || exit 1
  fi
fi

# A silent CPU fallback would make every figure below a CPU figure.
export Onnx__FallBackToCpu=false
rows=()

for cases in "$shared"/cases*; do
  [ -d "$cases" ] || continue
  name=$(basename "$cases")
  "${conformance[@]}" "$cases" --models "$shared/models" --provider cuda >"$out/$name.txt" 2>&1
  summary=$(tail -n 1 "$out/$name.txt")
  rows+=("conformance $name|$summary")
done

if [ -z "$app" ]; then
  # The tests that skip with "needs a CUDA GPU" elsewhere: float16 I/O cast on the device, bound UNet, CUDA graphs.
  dotnet test tests/FewStep.Onnx.Tests -c Release --no-build --logger "console;verbosity=normal" \
    --filter "FullyQualifiedName~Cuda|FullyQualifiedName~DeviceBinding|FullyQualifiedName~Float16Io|FullyQualifiedName~ExecutionProvider" >"$out/cuda-tests.txt" 2>&1
  rows+=("cuda tests|$(grep -E '^(Passed|Failed)!' "$out/cuda-tests.txt" | tail -n 1)")
fi

bench() { # label model steps size batches [env...]
  local label=$1 model=$2 steps=$3 size=$4 batches=$5; shift 5
  # GPU memory in use, sampled every 200 ms while the bench runs: its peak goes in the row.
  nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 200 >"$out/bench-$label.gpumem" 2>/dev/null &
  local sampler=$!
  env "$@" "${cli[@]}" bench --model "$model" --device cuda --steps "$steps" --size "$size" --batch "$batches" --runs 10 --warmup 2 --json \
      >"$out/bench-$label.json" 2>"$out/bench-$label.err"
  local status=$?
  kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null
  if [ "$status" -eq 0 ]; then
    rows+=("bench $label|$(python3 - "$out/bench-$label.json" "$out/bench-$label.gpumem" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
gpu = [int(x) for x in open(sys.argv[2]).read().split() if x.strip().isdigit()]
print(d["provider"] + " " + "; ".join(
    f"b{b['batch_size']} {b['median_ms']:.1f} ms ({b['images_per_s']:.1f} img/s, overhead {b['overhead_ratio']:.3f})" for b in d["batches"])
    + f"; peak {d['peak_working_set_mb']:.0f} MB host" + (f", {max(gpu)} MiB GPU" if gpu else "")
    + (f"; {d['cuda_graphs']} CUDA graph(s)" if "cuda_graphs" in d else ""))
PY
)")
  else
    rows+=("bench $label|FAILED: $(tail -n 1 "$out/bench-$label.err")")
  fi
}

# Each bench twice: as served by default, and with the denoiser's steps captured as CUDA graphs (the row says how
# many graphs it held; none means ONNX Runtime refused capture for the model, and the .err file says why).
for model in tiny-sd-turbo tiny-sdxl-turbo tiny-lcm tiny-pixart-lcm; do
  bench "$model-512" "$shared/models/$model" 4 512x512 1,4
  bench "$model-512-cuda-graph" "$shared/models/$model" 4 512x512 1,4 Onnx__EnableCudaGraph=true
done
if [ -n "$realsize" ]; then
  bench realsize-fp32 "$realsize" 1 512x512 1,4
  bench realsize-fp32-cuda-graph "$realsize" 4 512x512 1,4 Onnx__EnableCudaGraph=true
  bench realsize-fp32-no-fusion "$realsize" 1 512x512 1 Onnx__FuseAttention=false
  bench realsize-fp32-1024 "$realsize" 1 1024x1024 1
  bench realsize-fp32-1024-vae-tiling "$realsize" 1 1024x1024 1 Onnx__VaeTiling=true
fi
if [ -n "$realsize16" ]; then
  bench realsize-fp16 "$realsize16" 1 512x512 1,4
  bench realsize-fp16-cuda-graph "$realsize16" 4 512x512 1,4 Onnx__EnableCudaGraph=true
fi

printf '\n%-40s %s\n' "check" "result"
for row in "${rows[@]}"; do
  printf '%-40s %s\n' "${row%%|*}" "${row#*|}"
done | tee "$out/table.txt"
