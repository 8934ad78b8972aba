#!/bin/bash
# Multi-node pretraining under Slurm: one torchrun per node, which starts one process per GPU.
#   sbatch launch/configs/slurm_pretrain.sh --config=my_run.yaml --deepspeed_config=launch/configs/zero2.json
#SBATCH --job-name=alba-pretrain
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=1
#SBATCH --gpus-per-node=8
#SBATCH --cpus-per-task=32
#SBATCH --output=alba-%j.log
set -euo pipefail
export MASTER_ADDR=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)
export MASTER_PORT=${MASTER_PORT:-29500}
GPUS_PER_NODE=${SLURM_GPUS_PER_NODE:-8}
srun torchrun --nnodes="$SLURM_NNODES" --node_rank="$SLURM_NODEID" --nproc_per_node="$GPUS_PER_NODE" \
    --master_addr="$MASTER_ADDR" --master_port="$MASTER_PORT" launch/pretrain.py "$@"
