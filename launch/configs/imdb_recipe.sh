#!/usr/bin/env bash
# The IMDB recipe: clean the raw reviews, train a WordPiece tokenizer on them, tokenize them once into a token
# store, then pretrain with launch/configs/imdb_bert.yaml (resuming if the run was interrupted).
#   bash launch/configs/imdb_recipe.sh [REVIEWS_FILE] [OUT_DIR] [extra `alba pretrain` flags...]
set -euo pipefail
reviews=${1:-../shared/data/imdb/unsup.txt}
out=${2:-runs/imdb}
shift $(( $# < 2 ? $# : 2 ))
python=${PYTHON:-python}
here=$(cd "$(dirname "$0")/../.." && pwd)
[ -f "$reviews" ] || { echo "imdb_recipe: no such file: $reviews" >&2; exit 2; }
read_opts=(--corpus_format=lines --clean_html)
if [ ! -f "$out/tokenizer/tokenizer.json" ]; then
  "$python" "$here/launch/data.py" tokenizer --source="$reviews" "${read_opts[@]}" --kind=wordpiece \
      --vocab_size=8192 --out="$out/tokenizer"
fi
if [ ! -f "$out/store/store.json" ]; then
  "$python" "$here/launch/data.py" build --corpus="$reviews" "${read_opts[@]}" --tokenizer="$out/tokenizer" \
      --out="$out/store"
fi
resume=()
[ -f "$out/pretrain/checkpoints/latest" ] && resume=(--resume)
"$python" "$here/launch/pretrain.py" --config="$here/launch/configs/imdb_bert.yaml" --corpus="$out/store" \
    --output_dir="$out/pretrain" "${resume[@]}" "$@"
