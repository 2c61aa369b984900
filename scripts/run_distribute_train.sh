#!/usr/bin/env bash
# Data-parallel training on N devices (or N CPU processes) of this machine, with MindSpore's msrun:
#   bash scripts/run_distribute_train.sh N [train.py flags...]
#   bash scripts/run_distribute_train.sh 8 --device_target Ascend --model dcgan --batch_size 1024
# --batch_size is the global batch (split evenly over the N workers). Rank 0 writes the run directory;
# each worker's console output goes to $LOG_DIR/worker_<rank>.log (default ./msrun_log).
set -euo pipefail
if [[ $# -lt 1 || ! "$1" =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: bash $0 N [train.py flags...]   (N = number of workers, a positive integer)" >&2
    exit 2
fi
workers=$1
shift
exec msrun --worker_num="$workers" --local_worker_num="$workers" --master_port="${MASTER_PORT:-8118}" \
    --join=True --log_dir="${LOG_DIR:-msrun_log}" "$(dirname "$0")/train.py" --distribute "$@"
