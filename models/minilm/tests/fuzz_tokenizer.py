#!/usr/bin/env python3
"""fuzz_tokenizer.py - compare recd's MiniLM tokenizer with the reference on random strings.

Not part of ctest (it needs the reference `tokenizers` package): a developer check, run in the
reference venv after changing the tokenizer or regenerating the Unicode tables:

    "$(scripts/setup-ref-venv.sh)" models/minilm/tests/fuzz_tokenizer.py \\
        BUILD/bench/encoder.d/bench_encoder [SEED] [COUNT]

Strings mix item texts from ../shared/data/amazon-scientific with random code points from every
plane, combining marks, Hangul, controls, whitespace, special tokens, case and normalization
changes, and very long inputs (truncation at 256). Exit status 1 on any id mismatch.
"""
import json
import os
import random
import subprocess
import sys
import tempfile
import unicodedata

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))))


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    binary = sys.argv[1]
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 20000
    model = os.environ.get('RECD_MODEL_DIR') or subprocess.check_output(
        [os.path.join(ROOT, 'scripts', 'install-model.sh')], text=True).split()[-1]
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(os.path.join(model, 'tokenizer.json'))
    tok.no_padding()
    tok.enable_truncation(256)
    rnd = random.Random(seed)
    data = os.path.join(ROOT, '..', 'shared', 'data', 'amazon-scientific', 'Scientific.text')
    items = [l.split('\t', 1)[1] for l in open(data, encoding='utf-8').read().split('\n')[1:]
             if '\t' in l]

    def rcp():
        r = rnd.random()
        if r < 0.3:
            return chr(rnd.randint(0x20, 0x7e))
        if r < 0.45:
            return chr(rnd.randint(0xa0, 0x2fff))
        if r < 0.55:
            return chr(rnd.choice([0x300, 0x301, 0x308, 0x327, 0x1d165, 0x1d16d, 0x5b0, 0x93c,
                                   0x3099, 0x1734]))
        if r < 0.65:
            return chr(rnd.randint(0x3000, 0xffff))
        if r < 0.75:
            return chr(rnd.randint(0x10000, 0x2ffff))
        if r < 0.8:
            return chr(rnd.randint(0xe0000, 0x10ffff))
        if r < 0.85:
            return rnd.choice(['[SEP]', '[CLS]', '[MASK]', '[PAD]', '[UNK]', ' ', '\t', '\n',
                               '\u00a0', '\u200b', '\u2028'])
        if r < 0.9:
            return chr(rnd.randint(1, 0x20))
        return chr(rnd.randint(0xac00, 0xd7a3))

    texts = []
    for _ in range(count):
        k = rnd.random()
        if k < 0.3:
            s = ''.join(rcp() for _ in range(rnd.randint(0, 40)))
        elif k < 0.6:
            s = ''.join(c if rnd.random() > 0.1 else rcp()
                        for c in rnd.choice(items)[:rnd.randint(0, 300)])
        elif k < 0.8:
            s = unicodedata.normalize(rnd.choice(['NFC', 'NFD', 'NFKC', 'NFKD']),
                                      rnd.choice(items)[:200]).upper()
        else:
            s = ''.join(rcp() for _ in range(rnd.randint(100, 2000)))
        texts.append(''.join(c for c in s if not 0xd800 <= ord(c) <= 0xdfff and c != '\0'))
    with tempfile.NamedTemporaryFile('w', suffix='.json', delete=False) as f:
        json.dump(texts, f)
        path = f.name
    try:
        got = json.loads(subprocess.check_output([binary, '--model', model, '--tokenize', path]))
    finally:
        os.unlink(path)
    ref = [e.ids for e in tok.encode_batch(texts)]
    bad = [i for i in range(len(texts)) if ref[i] != got[i]]
    print('fuzz_tokenizer: seed %d, %d texts, %d mismatches' % (seed, len(texts), len(bad)))
    for i in bad[:5]:
        print(repr(texts[i][:120]), '\n  ref', ref[i][:24], '\n  got', got[i][:24])
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
