#!/usr/bin/env python3
"""A generated sentiment-like text task with a real signal, in the format of
`nntrain convert sequences`: one sample per line, "label tok tok ...".

Token ids follow keras.datasets.imdb: 0 padding, 1 start, 2 out of
vocabulary, words from 3. Ids 10-29 are "positive" words and 30-49
"negative" words; the rest are neutral filler. A review has 20-150 tokens;
its label is 1 when it holds more positive than negative words among its
last MAXLEN tokens (what pad_sequences keeps with pre-truncation), so the
label is always recoverable from the padded input. Ties are redrawn.

    /usr/bin/python3 scripts/gen_sequence_task.py --train 10000 --test 2000 -o /tmp/seq
    nntrain convert sequences /tmp/seq/train.txt --test /tmp/seq/test.txt --maxlen 100 -o seq.h5
"""
import argparse
import os
import random


def review(rng, maxlen, vocab):
    while True:
        n = rng.randint(20, 150)
        toks = [rng.randint(50, vocab - 1) for _ in range(n)]
        for _ in range(rng.randint(0, 6)):
            toks[rng.randrange(n)] = rng.randint(10, 29)
        for _ in range(rng.randint(0, 6)):
            toks[rng.randrange(n)] = rng.randint(30, 49)
        full = [1] + toks
        kept = full[-maxlen:]
        pos = sum(10 <= t <= 29 for t in kept)
        neg = sum(30 <= t <= 49 for t in kept)
        if pos != neg:
            return int(pos > neg), full


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", type=int, default=10000)
    ap.add_argument("--test", type=int, default=2000)
    ap.add_argument("--maxlen", type=int, default=100)
    ap.add_argument("--vocab", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("-o", "--out", required=True, help="output directory")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    os.makedirs(a.out, exist_ok=True)
    for name, n in (("train", a.train), ("test", a.test)):
        with open(os.path.join(a.out, name + ".txt"), "w") as f:
            for _ in range(n):
                label, toks = review(rng, a.maxlen, a.vocab)
                f.write("%d %s\n" % (label, " ".join(map(str, toks))))


if __name__ == "__main__":
    main()
