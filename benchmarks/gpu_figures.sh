#!/usr/bin/env bash
# Every GPU figure of docs/devices.md in one unattended run, on a machine with a CUDA GPU, from the repository root:
#
#     OUT=gpu-figures bash benchmarks/gpu_figures.sh            # all stages, at most $BUDGET = 540 s
#     STAGES="peer train" BUDGET=500 OUT=gpu-figures bash benchmarks/gpu_figures.sh
#
# Stages, in this order (each under its own time limit and what is left of the run's budget, so one that overruns
# leaves the others' results; a stage with under 15 s left is not started):
#   machine   GPU, driver, CUDA, torch (machine.txt)
#   tests     the CUDA tests of tests/test_devices.py (cuda-tests.log)
#   validate  `clariant validate --device cuda` in float32, tf32 and autocast-bf16, and on the CPU (validate-*.log,
#             report-cuda-<mode>/ and report-cpu/, each with its index.html)
#   bench     benchmarks/test_bench_devices.py on cuda:0 (bench-devices.json: training step, sweep, per mode)
#   peer      benchmarks/test_bench_peer.py on cuda:0, eager and compiled, at the hardware sizes (bench-peer.json;
#             needs lgatr: carried wheels in $WHEELS are installed first)
#   train     one epoch of `clariant train` on $DATA (default: the embedded sample) on cuda and on the CPU
#             (train-*.json: seconds per epoch)
# At the end (and after each stage) everything is packed into $OUT/gpu-figures.tgz with a summary.txt beside it.
#
# Offline machines: the package is installed without its dependencies, which must be there already — torch, numpy,
# scipy, h5py, matplotlib, pandas, scikit-learn, tqdm, hypothesis, pytest, pytest-benchmark; PyTables, Pythia and
# FastJet are not needed. Where pip cannot install it, the stages run from a copy laid out as installed. Folders the
# repository ignores (.gpu/ with the wheels and the 24,000-jet set) must be brought along.
set -uo pipefail
abs() { mkdir -p "$1" && (cd "$1" && pwd); }
OUT=$(abs "${OUT:-gpu-figures}")
STAGES=${STAGES:-machine tests validate bench peer train}
BUDGET=${BUDGET:-540} # seconds for the whole run: each stage gets at most what is left (a device call is ≤ 10 min)
DATA=${DATA:+$(abs "$DATA")}
WHEELS=${WHEELS:-.gpu/wheels}
[ -d "$WHEELS" ] && WHEELS=$(abs "$WHEELS")
PY=${PYTHON:-python3}
[[ $PY == */* ]] && PY="$(cd "$(dirname "$PY")" && pwd)/$(basename "$PY")" # a path: absolute (stages may cd)
WORK=$(mktemp -d)
SUMMARY="$OUT/summary.txt"
: >"$SUMMARY"

say() { echo "$*" | tee -a "$SUMMARY"; }
pack() { tar czf "$OUT/gpu-figures.tgz" -C "$WORK" --exclude=./tree . 2>/dev/null; }
stage() { # name, seconds, command...: run one stage under its limit and the run's budget, note how it ended
    local name=$1 limit=$2 left=$((BUDGET - SECONDS))
    shift 2
    if ((left < 15)); then
        say "stage $name: not run, the run's budget of $BUDGET s is spent"
        return
    fi
    ((limit > left)) && limit=$left
    local t0=$SECONDS
    timeout --signal=INT --kill-after=20 "$limit" "$@" >"$WORK/$name.log" 2>&1
    local rc=$?
    say "stage $name: exit $rc after $((SECONDS - t0)) s (limit $limit s)"
    tail -n 3 "$WORK/$name.log" | sed 's/^/    /' | tee -a "$SUMMARY"
    pack
}

installed() { (cd / && $PY -c "import clariant.validate, clariant_core") 2>/dev/null; }
NOPLUGIN=()
if ! installed; then
    $PY -m pip install -q --no-index --no-deps --no-build-isolation -e . >"$WORK/install.log" 2>&1
fi
if ! installed; then # no build backend there: the packages as installed (clariant.validate is validate/), run there
    say "pip could not install the package (install.log): the stages run from a copy in $WORK/tree"
    mkdir -p "$WORK/tree"
    cp -r clariant clariant_core tests benchmarks conftest.py pyproject.toml "$WORK/tree/"
    cp -r validate "$WORK/tree/clariant/validate"
    cd "$WORK/tree" || exit 1
    NOPLUGIN=(--deselect tests/test_devices.py::test_plugin_lorentz_device) # needs the installed plugin entry point
fi
if ls "$WHEELS"/*.whl >/dev/null 2>&1 && ! $PY -c "import lgatr" 2>/dev/null; then
    $PY -m pip install -q --no-index --no-deps "$WHEELS"/*.whl >>"$WORK/install.log" 2>&1 || say "lgatr wheel not installed"
fi
CLARIANT="$PY -m clariant.cli"

for s in $STAGES; do
    case $s in
    machine)
        {
            nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
            $PY -c "import torch, platform; print('torch', torch.__version__, 'cuda', torch.version.cuda, \
'python', platform.python_version(), 'gpu', torch.cuda.get_device_name(0), \
'capability', torch.cuda.get_device_capability(0))"
            nproc
        } >"$WORK/machine.txt" 2>&1
        cat "$WORK/machine.txt" >>"$SUMMARY"
        ;;
    tests)
        stage cuda-tests 180 $PY -m pytest -q -p no:cacheprovider -rs tests/test_devices.py "${NOPLUGIN[@]}"
        ;;
    validate)
        for mode in float32 tf32 autocast-bf16; do
            stage "validate-cuda-$mode" 120 $CLARIANT validate --device cuda --dtype "$mode" --out "$WORK/report-cuda-$mode"
        done
        stage validate-cpu 120 $CLARIANT validate --device cpu --out "$WORK/report-cpu"
        ;;
    bench)
        stage bench-devices 150 $PY -m pytest -q -p no:cacheprovider benchmarks/test_bench_devices.py -k "cuda" \
            --benchmark-only --benchmark-json="$WORK/bench-devices.json"
        ;;
    peer)
        stage bench-peer-eager 120 $PY -m pytest -q -p no:cacheprovider benchmarks/test_bench_peer.py \
            -k "cuda and eager" --benchmark-only --benchmark-json="$WORK/bench-peer-eager.json"
        stage bench-peer-compiled 240 $PY -m pytest -q -p no:cacheprovider benchmarks/test_bench_peer.py \
            -k "cuda and compiled" --benchmark-only --benchmark-json="$WORK/bench-peer-compiled.json"
        ;;
    train)
        data=${DATA:-$($PY -c "from clariant_core.data import SAMPLE_DIR; print(SAMPLE_DIR)")}
        for dev in cuda cpu; do
            stage "train-$dev" 150 $CLARIANT train --data "$data" --device "$dev" --epochs 1 --model lgn --quiet \
                --out "$WORK/train-$dev"
            cp "$WORK/train-$dev/metrics.json" "$WORK/train-$dev.json" 2>/dev/null
        done
        ;;
    *) say "unknown stage $s (machine tests validate bench peer train)" ;;
    esac
done
ls "$WORK"/bench-*.json >/dev/null 2>&1 && $CLARIANT bench compare "$WORK"/bench-*.json >"$WORK/compare.txt" 2>&1
pack
say "packed: $OUT/gpu-figures.tgz ($(du -h "$OUT/gpu-figures.tgz" | cut -f1))"
