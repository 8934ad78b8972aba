#!/usr/bin/env bash
# Download, on a CPU machine with network, exactly the wheels that the GPU machine's image lacks (Python 3.12,
# manylinux x86-64) into benchmarks/gpu/wheels/ (ignored by git), for `run.py` to install there without network.
# The image holds torch, transformers, accelerate, tokenizers, safetensors, sentencepiece, pytest and DeepSpeed's
# other needs (einops, msgpack, ninja, psutil, py-cpuinfo); missing are DeepSpeed itself and pydantic, which it
# needs, and fire. W&B, datasets and zstandard are imported only when a run asks for them, and run.py does not.
#
#     bash benchmarks/gpu/fetch_wheels.sh            # PYTHON=... to build DeepSpeed's wheel with another interpreter
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dest="$here/wheels"
python="${PYTHON:-$here/../../.venv/bin/python}"
# The versions alba's CI tests (its .venv), so the GPU machine runs what CI checked.
DEEPSPEED=0.19.8
BINARY=(pydantic==2.14.4 pydantic-core==2.50.5 annotated-types==0.8.0 typing-inspection==0.4.5 hjson==3.1.0
        fire==0.7.1 termcolor==3.3.0)
rm -rf "$dest"
mkdir -p "$dest"
platforms=()
for p in manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64 manylinux1_x86_64; do
  platforms+=(--platform "$p")
done
"$python" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  "${platforms[@]}" -d "$dest" "${BINARY[@]}"
# DeepSpeed ships as source only; without its compiled ops (DS_BUILD_OPS=0, as alba installs it) the wheel is pure
# Python. Its build imports torch, so it builds against this interpreter's (CPU) torch, not a downloaded one.
DS_BUILD_OPS=0 "$python" -m pip wheel -q --no-deps --no-build-isolation -w "$dest" "deepspeed==$DEEPSPEED"
ls "$dest"
du -sh "$dest"
