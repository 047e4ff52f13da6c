#!/usr/bin/env bash
# Every GPU figure of docs/devices.md in one unattended run, on a machine with a CUDA GPU, from the repository root:
#
#     OUT=gpu-figures bash benchmarks/gpu_figures.sh            # all stages, ~9 minutes on one H100/H200
#     STAGES="tests validate" OUT=gpu-figures bash benchmarks/gpu_figures.sh
#
# Stages, in this order (each under its own time limit, so one that overruns leaves the others' results):
#   machine   GPU, driver, CUDA, torch (machine.txt)
#   tests     the CUDA tests of tests/test_devices.py (cuda-tests.log)
#   validate  `clariant validate --device cuda` in float32, tf32 and autocast-bf16, and on the CPU (validate-*.txt,
#             report-cuda/ with its index.html)
#   bench     benchmarks/test_bench_devices.py on cuda:0 (bench-devices.json: training step, sweep, per mode)
#   peer      benchmarks/test_bench_peer.py on cuda:0, eager and compiled, at the hardware sizes (bench-peer.json;
#             needs lgatr: carried wheels in $WHEELS are installed first)
#   train     one epoch of `clariant train` on $DATA (default: the embedded sample) on cuda and on the CPU
#             (train-*.json: seconds per epoch)
# At the end (and after each stage) everything is packed into $OUT/gpu-figures.tgz with a summary.txt beside it.
#
# Offline machines: the package is installed without its dependencies (torch, numpy, h5py, matplotlib, pytest,
# pytest-benchmark must be there already); PyTables, Pythia and FastJet are not needed.
set -uo pipefail
OUT=${OUT:-gpu-figures}
STAGES=${STAGES:-machine tests validate bench peer train}
DATA=${DATA:-}
WHEELS=${WHEELS:-.gpu/wheels}
PY=${PYTHON:-python3}
WORK=$(mktemp -d)
mkdir -p "$OUT"
SUMMARY="$OUT/summary.txt"
: >"$SUMMARY"

say() { echo "$*" | tee -a "$SUMMARY"; }
pack() { tar czf "$OUT/gpu-figures.tgz" -C "$WORK" . 2>/dev/null; }
stage() { # name, seconds, command...: run one stage under its limit, note how it ended
    local name=$1 limit=$2
    shift 2
    local t0=$SECONDS
    timeout --signal=INT --kill-after=20 "$limit" "$@" >"$WORK/$name.log" 2>&1
    local rc=$?
    say "stage $name: exit $rc after $((SECONDS - t0)) s (limit $limit s)"
    tail -n 3 "$WORK/$name.log" | sed 's/^/    /' | tee -a "$SUMMARY"
    pack
}

if ! $PY -c "import clariant" 2>/dev/null; then
    if ! $PY -m pip install -q --no-index --no-deps --no-build-isolation -e . >"$WORK/install.log" 2>&1; then
        # no build backend there: the packages laid out as installed (clariant.validate is validate/), on the path
        say "pip could not install the package (install.log): running it from $WORK/site"
        mkdir -p "$WORK/site/clariant"
        cp -r clariant/. "$WORK/site/clariant/" && cp -r validate "$WORK/site/clariant/validate"
        ln -s "$PWD/clariant_core" "$WORK/site/clariant_core"
        export PYTHONPATH="$WORK/site${PYTHONPATH:+:$PYTHONPATH}"
    fi
fi
if [ -d "$WHEELS" ] && ! $PY -c "import lgatr" 2>/dev/null; then
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
        stage cuda-tests 180 $PY -m pytest -q -p no:cacheprovider -rs tests/test_devices.py
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
