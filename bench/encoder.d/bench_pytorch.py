#!/usr/bin/env python3
"""bench_pytorch.py - the PyTorch side of bench/encoder (runs in scripts/setup-ref-venv.sh's venv).

  bench_pytorch.py texts OUT.json     choose the benchmark texts (deterministic): 256 short texts
                                      (<= 16 tokens with [CLS]/[SEP]: search queries and title
                                      heads) and 256 long texts (exactly 128 tokens), from
                                      ../shared/data/amazon-scientific, counted with the
                                      reference tokenizer
  bench_pytorch.py run MODEL TEXTS OUT.json [SECONDS]
                                      SentenceTransformer(MODEL).encode() on the same texts,
                                      torch.set_num_threads(1), batch sizes 1, 8, 32: texts/s
                                      (best window: whole passes over the first 32 texts of a
                                      set lasting >= 0.25 s, like bench_encoder.c)
The model comes from the installed directory (HF_HUB_OFFLINE=1), never from a hub.
"""
import json
import os
import random
import sys
import time

os.environ['HF_HUB_OFFLINE'] = '1'
os.environ['TRANSFORMERS_OFFLINE'] = '1'
os.environ.setdefault('OMP_NUM_THREADS', '1')
os.environ.setdefault('MKL_NUM_THREADS', '1')

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(ROOT, '..', 'shared', 'data', 'amazon-scientific', 'Scientific.text')
QUERIES = ['glue', 'gorilla glue', 'safety glasses', 'nitrile gloves large', 'lab coat',
           'ph meter', 'digital caliper 6 inch', 'hepa filter', 'trash bags 33 gallon',
           'soldering iron kit', 'multimeter', 'zip ties', 'duct tape', 'n95 mask',
           'pipette tips 200ul', 'beaker set', 'magnifying glass', 'thermometer probe',
           'hand sanitizer', 'shop vac bags', 'm3 screws stainless', 'heat shrink tubing',
           '3d printer filament pla', 'label maker', 'microscope slides', 'ear plugs',
           'usb c cable', 'respirator', 'epoxy resin clear', 'paper towels bulk']


def make_texts(out, model_dir):
    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(model_dir)

    def ntok(s):
        return len(tok(s, truncation=False)['input_ids'])
    rows = []
    with open(DATA, encoding='utf-8') as f:
        next(f)
        for line in f:
            rows.append(line.rstrip('\n').partition('\t')[2])
    short = [q for q in QUERIES if ntok(q) <= 16]
    for r in rows:
        if len(short) >= 256:
            break
        words = r.split('. ')[0].split()
        head = ' '.join(words[:6])
        while words and ntok(head) > 16:
            words = words[:-1]
            head = ' '.join(words[:6])
        if head and ntok(head) <= 16:
            short.append(head)
    long_ = []
    words = ' '.join(rows).split()
    i = 0
    while len(long_) < 256 and i < len(words):
        cur, n = [], 2
        while i < len(words) and n < 128:
            w = words[i]
            i += 1
            k = ntok(w) - 2
            if n + k <= 128:
                cur.append(w)
                n += k
        s = ' '.join(cur)
        if ntok(s) == 128:
            long_.append(s)
    assert len(short) == 256 and len(long_) == 256, (len(short), len(long_))
    # deterministic shuffle: the benchmark windows use the first 32 texts of each set
    random.Random(0).shuffle(short)
    random.Random(0).shuffle(long_)
    with open(out, 'w', encoding='utf-8') as f:
        json.dump({'short': short, 'long': long_,
                   'short_tokens_max': max(ntok(s) for s in short),
                   'short_tokens_mean': sum(ntok(s) for s in short) / len(short),
                   'window_short_tokens_mean': sum(ntok(s) for s in short[:32]) / 32,
                   'long_tokens': 128}, f, ensure_ascii=False, indent=0)


def run(model_dir, texts_path, out, seconds):
    import torch
    from sentence_transformers import SentenceTransformer
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    model = SentenceTransformer(model_dir, device='cpu')
    model.eval()
    sets = json.load(open(texts_path, encoding='utf-8'))
    res = {'torch': torch.__version__, 'torch_threads': torch.get_num_threads(),
           'blas': torch.backends.mkl.is_available() and 'mkl' or 'other', 'configs': {}}
    for name in ('short', 'long'):
        texts = sets[name]
        for b in (1, 8, 32):
            with torch.inference_mode():
                model.encode(texts[:b], batch_size=b, show_progress_bar=False)   # warm-up
                # windows: whole passes over the first 32 texts lasting >= 0.25 s; the best
                # window is reported (the machine may be shared), as bench_encoder.c does
                window = texts[:32]
                done_all, best, t_all = 0, 0.0, time.perf_counter()
                while True:
                    done, t0 = 0, time.perf_counter()
                    while True:
                        model.encode(window, batch_size=b, show_progress_bar=False)
                        done += len(window)
                        if time.perf_counter() - t0 >= 0.25:
                            break
                    best = max(best, done / (time.perf_counter() - t0))
                    done_all += done
                    if time.perf_counter() - t_all >= seconds:
                        break
                wall = time.perf_counter() - t_all
            res['configs']['%s_batch%d' % (name, b)] = {'texts_per_s': best,
                                                        'texts_per_s_mean': done_all / wall,
                                                        'texts': done_all, 'seconds': wall}
            print('bench_pytorch: %-14s %8.1f texts/s' % ('%s_batch%d' % (name, b), best),
                  file=sys.stderr)
    with open(out, 'w') as f:
        json.dump(res, f, indent=2)


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == 'texts':
        make_texts(sys.argv[2], sys.argv[3])
    elif len(sys.argv) >= 5 and sys.argv[1] == 'run':
        run(sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5]) if len(sys.argv) > 5 else 3.0)
    else:
        sys.exit(__doc__)


if __name__ == '__main__':
    main()
