#!/usr/bin/env python3
"""gen_unicode_tables.py - generate models/minilm/minilm_unicode_tables.c

The MiniLM tokenizer (BERT BasicTokenizer + WordPiece, as implemented by the reference
`tokenizers` BertNormalizer/BertPreTokenizer that sentence-transformers uses) needs, per code point:

  REMOVE  dropped by clean_text: U+0000, U+FFFD and "other" (C*) characters except \\t \\n \\r
  WS      whitespace, mapped to ' ' by clean_text and split on by the pre-tokenizer
  PUNCT   split off as its own word: ASCII punctuation or a Unicode P* character
  MN      non-spacing mark (Mn), dropped after NFD when accents are stripped
  plus    the full canonical decomposition (NFD, Hangul done algorithmically in C),
          the canonical combining class (for canonical reordering), the lowercase mapping.

The base data is Python's unicodedata (this interpreter's Unicode version).  The reference
tokenizer is a Rust crate whose category tables are an older Unicode version, so when the
`tokenizers` package and the model's tokenizer.json are available (--reference), every code point
is run through the reference normalizer and pre-tokenizer and the table is corrected wherever the two
disagree; then the whole pipeline, re-modelled here in Python exactly as the C code runs it, is
checked against the reference for every code point and generation fails on any difference.

usage: gen_unicode_tables.py [--reference MODEL_DIR/tokenizer.json] OUT.c
The committed table was generated with --reference (scripts/setup-ref-venv.sh's python has
`tokenizers`).
"""
import argparse
import sys
import unicodedata

FL_REMOVE, FL_WS, FL_PUNCT, FL_MN, FL_DECOMP, FL_LOWER, FL_CCC = 1, 2, 4, 8, 16, 32, 64
MAXCP = 0x110000
SBASE, LBASE, VBASE, TBASE = 0xAC00, 0x1100, 0x1161, 0x11A7
SCOUNT = 11172

# Rust char::is_whitespace (Unicode White_Space property)
WHITE_SPACE = set([0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680]
                  + list(range(0x2000, 0x200B)) + [0x2028, 0x2029, 0x202F, 0x205F, 0x3000])


def is_cjk(c):
    """The reference's CJK ranges (tokenizers' BertNormalizer: note 0x2B920, not 0x2B820)."""
    return (0x4E00 <= c <= 0x9FFF or 0x3400 <= c <= 0x4DBF or 0x20000 <= c <= 0x2A6DF
            or 0x2A700 <= c <= 0x2B73F or 0x2B740 <= c <= 0x2B81F or 0x2B920 <= c <= 0x2CEAF
            or 0xF900 <= c <= 0xFAFF or 0x2F800 <= c <= 0x2FA1F)


def full_decomp(c):
    """Full canonical decomposition, not for Hangul syllables (done in C)."""
    d = unicodedata.decomposition(chr(c))
    if not d or d.startswith('<'):
        return [c]
    out = []
    for h in d.split():
        out.extend(full_decomp(int(h, 16)))
    return out


def base_tables():
    flags = [0] * MAXCP
    decomp, lower, ccc = {}, {}, {}
    for c in range(MAXCP):
        if 0xD800 <= c <= 0xDFFF:
            flags[c] = FL_REMOVE
            continue
        ch = chr(c)
        cat = unicodedata.category(ch)
        f = 0
        # unassigned (Cn) code points are kept as ordinary characters, as the reference does
        if c == 0 or c == 0xFFFD or (ch not in '\t\n\r' and cat in ('Cc', 'Cf', 'Co', 'Cs')):
            f |= FL_REMOVE
        elif c in WHITE_SPACE:
            f |= FL_WS
        if (33 <= c <= 47 or 58 <= c <= 64 or 91 <= c <= 96 or 123 <= c <= 126
                or cat.startswith('P')):
            f |= FL_PUNCT
        if cat == 'Mn':
            f |= FL_MN
        if not (SBASE <= c < SBASE + SCOUNT):
            d = full_decomp(c)
            if d != [c]:
                decomp[c] = d
                f |= FL_DECOMP
        lo = [ord(x) for x in ch.lower()]
        if lo != [c]:
            lower[c] = lo
            f |= FL_LOWER
        k = unicodedata.combining(ch)
        if k:
            ccc[c] = k
            f |= FL_CCC
        flags[c] = f
    return flags, decomp, lower, ccc


def model_normalize(s, flags, decomp, lower, ccc):
    """Exactly what the C normalizer does (minilm_tokenizer.c), for checking."""
    out = []
    for ch in s:
        c = ord(ch)
        f = flags[c]
        if f & FL_REMOVE:
            continue
        if f & FL_WS:
            out.append(0x20)
            continue
        cjk = is_cjk(c)
        if cjk:
            out.append(0x20)
        if SBASE <= c < SBASE + SCOUNT:
            si = c - SBASE
            seq = [LBASE + si // 588, VBASE + (si % 588) // 28]
            if si % 28:
                seq.append(TBASE + si % 28)
        elif f & FL_DECOMP:
            seq = decomp[c]
        else:
            seq = [c]
        out.extend(seq)
        if cjk:
            out.append(0x20)
    # canonical reordering (stable sort of each run of non-starters by ccc)
    i = 0
    while i < len(out):
        if ccc.get(out[i], 0) == 0:
            i += 1
            continue
        j = i
        while j < len(out) and ccc.get(out[j], 0) != 0:
            j += 1
        out[i:j] = sorted(out[i:j], key=lambda x: ccc.get(x, 0))
        i = j
    res = []
    for c in out:
        if flags[c] & FL_MN:
            continue
        if flags[c] & FL_LOWER:
            res.extend(lower[c])
        else:
            res.append(c)
    return ''.join(map(chr, res))


def apply_reference(path, flags, decomp, lower, ccc):
    from tokenizers import Tokenizer  # the reference implementation
    tok = Tokenizer.from_file(path)
    norm, pre = tok.normalizer, tok.pre_tokenizer
    fixed = {'punct': 0, 'remove': 0, 'mn': 0, 'plain': 0, 'map': 0, 'ws': 0}
    for c in range(MAXCP):
        if 0xD800 <= c <= 0xDFFF:
            continue
        ch = chr(c)
        # punctuation as the reference pre-tokenizer sees it (a property of the character)
        rp = len(pre.pre_tokenize_str('a' + ch + 'a')) == 3 and not (flags[c] & FL_WS)
        if rp != bool(flags[c] & FL_PUNCT):
            flags[c] ^= FL_PUNCT
            fixed['punct'] += 1
        r = norm.normalize_str(ch)
        m = model_normalize(ch, flags, decomp, lower, ccc)
        if r == m:
            continue
        if r == '':
            if unicodedata.category(ch).startswith('C'):
                flags[c] |= FL_REMOVE
                fixed['remove'] += 1
            else:
                flags[c] |= FL_MN
                fixed['mn'] += 1
        elif r == ' ':
            flags[c] = (flags[c] & ~FL_REMOVE) | FL_WS
            fixed['ws'] += 1
        elif r == ch:
            flags[c] &= ~(FL_REMOVE | FL_MN | FL_DECOMP | FL_LOWER | FL_WS)
            decomp.pop(c, None)
            lower.pop(c, None)
            fixed['plain'] += 1
        else:
            flags[c] &= ~(FL_REMOVE | FL_MN | FL_WS | FL_LOWER)
            lower.pop(c, None)
            decomp[c] = [ord(x) for x in r]
            flags[c] |= FL_DECOMP
            fixed['map'] += 1
    # second pass: the C pipeline, modelled, must equal the reference for every code point
    bad = []
    for c in range(MAXCP):
        if 0xD800 <= c <= 0xDFFF:
            continue
        r = norm.normalize_str(chr(c))
        m = model_normalize(chr(c), flags, decomp, lower, ccc)
        if r != m:
            bad.append((hex(c), r, m))
    if bad:
        sys.exit('gen_unicode_tables: %d code points still differ from the reference: %r'
                 % (len(bad), bad[:20]))
    import tokenizers
    return 'tokenizers %s; corrections %r' % (tokenizers.__version__, fixed)


def emit(out, flags, decomp, lower, ccc, provenance):
    BLK = 128
    blocks, index = {}, []
    for b in range(0, MAXCP, BLK):
        key = bytes(flags[b:b + BLK])
        if key not in blocks:
            blocks[key] = len(blocks)
        index.append(blocks[key])
    pool = []

    def seqtab(d):
        rows = []
        for c in sorted(d):
            rows.append((c, len(pool), len(d[c])))
            pool.extend(d[c])
        return rows
    drows = seqtab(decomp)
    lrows = seqtab(lower)
    assert len(pool) < 65536 and max(r[2] for r in drows + lrows) < 256
    cranges = []
    for c in sorted(ccc):
        if cranges and cranges[-1][1] == c - 1 and cranges[-1][2] == ccc[c]:
            cranges[-1][1] = c
        else:
            cranges.append([c, c, ccc[c]])
    w = out.write
    w('/* minilm_unicode_tables.c - GENERATED by scripts/gen_unicode_tables.py; do not edit.\n')
    w(' * Unicode %s (Python unicodedata)%s. */\n' % (
        unicodedata.unidata_version, (';\n * checked against the reference: ' + provenance) if provenance else ''))
    w('#include "minilm_unicode.h"\n\n')
    w('const uint16_t minilm_uc_stage1[%d] = {\n' % len(index))
    for i in range(0, len(index), 16):
        w('    ' + ', '.join(str(x) for x in index[i:i + 16]) + ',\n')
    w('};\n\n')
    w('const uint8_t minilm_uc_stage2[%d] = {\n' % (len(blocks) * BLK))
    for key in sorted(blocks, key=lambda k: blocks[k]):
        for i in range(0, BLK, 32):
            w('    ' + ','.join(str(x) for x in key[i:i + 32]) + ',\n')
    w('};\n\n')
    w('const uint32_t minilm_uc_pool[%d] = {\n' % len(pool))
    for i in range(0, len(pool), 12):
        w('    ' + ', '.join('0x%X' % x for x in pool[i:i + 12]) + ',\n')
    w('};\n\n')
    for name, rows in (('decomp', drows), ('lower', lrows)):
        w('const minilm_uc_seq minilm_uc_%s[%d] = {\n' % (name, len(rows)))
        for c, off, n in rows:
            w('    {0x%X, %d, %d},\n' % (c, off, n))
        w('};\nconst size_t minilm_uc_%s_n = %d;\n\n' % (name, len(rows)))
    w('const minilm_uc_ccc minilm_uc_ccc_ranges[%d] = {\n' % len(cranges))
    for lo, hi, k in cranges:
        w('    {0x%X, 0x%X, %d},\n' % (lo, hi, k))
    w('};\nconst size_t minilm_uc_ccc_n = %d;\n' % len(cranges))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--reference', help="the model's tokenizer.json (needs the tokenizers package)")
    ap.add_argument('out')
    a = ap.parse_args()
    flags, decomp, lower, ccc = base_tables()
    prov = ''
    if a.reference:
        prov = apply_reference(a.reference, flags, decomp, lower, ccc)
        print('gen_unicode_tables:', prov, file=sys.stderr)
    else:
        print('gen_unicode_tables: WARNING: no --reference; tables follow this Python\'s Unicode '
              'version and may differ from the reference tokenizer on recent characters',
              file=sys.stderr)
    with open(a.out, 'w') as f:
        emit(f, flags, decomp, lower, ccc, prov)


if __name__ == '__main__':
    main()
