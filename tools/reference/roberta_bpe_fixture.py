#!/usr/bin/env python3
"""Reference ids for RoBERTa's byte-level BPE on every I2P prompt.

The ids come from the slow tokenizer's algorithm (GPT-2's encoder.py, which transformers'
RobertaTokenizer implements): the GPT-2 pre-tokenisation regex, bytes mapped to printable
symbols, then merges by rank; `<s>` + ids + `</s>`, truncated to MAX_LENGTH tokens as
`truncation=True, max_length=MAX_LENGTH`. The vocabulary is learned here from the I2P prompts themselves
(MERGES byte-pair merges by frequency, ties to the smaller pair), so most words take several merges
and the test sees real BPE work; it is written as the slow tokenizer's `vocab.json` +
`merges.txt`, the files `SkolkovoInstitute/roberta_toxicity_classifier` ships instead of a
tokenizer.json. Our side converts them to a tokenizer.json (TokenizerJson.fromRobertaFiles) and runs
the Hugging Face tokenizers library; the test compares the two per prompt.

ids.txt holds, per CSV row in order, the first 16 hex digits of sha256(" ".join(ids)), plus the
full ids of the first rows in examples.json for reading a mismatch.

Run with Debian's python3 and python3-regex:
  python3 tools/reference/roberta_bpe_fixture.py ../shared/data/i2p/unsafe-prompts4703.csv \
      src/test/resources/org/evallearn/textcls/roberta-bpe-i2p
"""
import csv
import hashlib
import json
import os
import sys
from collections import Counter

import regex

MERGES = 600
# Below the real models' 512 so that truncation is compared too: at this vocabulary some I2P prompts
# exceed it (the script prints how many), none exceeds 512.
MAX_LENGTH = 128
SPECIALS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
PAT = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


BYTE_ENCODER = bytes_to_unicode()


def pretokens(text):
    return ["".join(BYTE_ENCODER[b] for b in t.encode("utf-8")) for t in PAT.findall(text)]


def learn(prompts):
    words = Counter()
    for p in prompts:
        for t in pretokens(p):
            words[tuple(t)] += 1
    merges = []
    for _ in range(MERGES):
        pairs = Counter()
        for w, f in words.items():
            for a, b in zip(w, w[1:]):
                pairs[(a, b)] += f
        if not pairs:
            break
        best = min(pairs.items(), key=lambda kv: (-kv[1], kv[0]))[0]
        merges.append(best)
        merged = Counter()
        for w, f in words.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == best:
                    out.append(w[i] + w[i + 1])
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            merged[tuple(out)] += f
        words = merged
    return merges


def bpe(token, ranks):
    """GPT-2's encoder.py bpe(): merge the lowest-ranked adjacent pair until none is ranked."""
    word = tuple(token)
    if len(word) < 2:
        return list(word)
    while True:
        pairs = set(zip(word, word[1:]))
        bigram = min(pairs, key=lambda p: ranks.get(p, float("inf")))
        if bigram not in ranks:
            break
        first, second = bigram
        new_word, i = [], 0
        while i < len(word):
            try:
                j = word.index(first, i)
            except ValueError:
                new_word.extend(word[i:])
                break
            new_word.extend(word[i:j])
            i = j
            if word[i] == first and i < len(word) - 1 and word[i + 1] == second:
                new_word.append(first + second)
                i += 2
            else:
                new_word.append(word[i])
                i += 1
        word = tuple(new_word)
        if len(word) == 1:
            break
    return list(word)


def main(csv_path, out_dir):
    with open(csv_path, newline="", encoding="utf-8") as f:
        prompts = [row["prompt"] for row in csv.DictReader(f)]
    merges = learn(prompts)
    vocab = {s: i for i, s in enumerate(SPECIALS)}
    for b in range(256):
        vocab[BYTE_ENCODER[b]] = len(vocab)
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    ranks = {m: i for i, m in enumerate(merges)}
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False)
    with open(os.path.join(out_dir, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))
    lines, examples = [], []
    longest = over = 0
    for i, p in enumerate(prompts):
        ids = [vocab[s] for t in pretokens(p) for s in bpe(t, ranks)]
        longest = max(longest, len(ids) + 2)
        over += len(ids) + 2 > MAX_LENGTH
        ids = [vocab["<s>"]] + ids[: MAX_LENGTH - 2] + [vocab["</s>"]]
        lines.append(hashlib.sha256(" ".join(map(str, ids)).encode()).hexdigest()[:16])
        if i < 8:
            examples.append({"row": i, "prompt": p, "ids": ids})
    with open(os.path.join(out_dir, "ids.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(out_dir, "examples.json"), "w", encoding="utf-8") as f:
        json.dump(examples, f, ensure_ascii=False, indent=1)
    print(f"{len(prompts)} prompts, {len(merges)} merges, vocabulary {len(vocab)}; longest {longest} tokens, {over} over {MAX_LENGTH}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
