"""Precision, recall and per-field accuracy of ``forcegen claims extract`` on the annotated
articles in tests/data/articles: per article, over all, over the articles seen while the
rules were written (tuning) and over the held-out ones.

Run: python benchmarks/extract_quality.py [--details]
"""

from __future__ import annotations

import sys
from pathlib import Path

from forcegen.sources.extract_eval import evaluate, load_corpus, table

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "data" / "articles"


def main(argv: list[str]) -> int:
    scores = evaluate(load_corpus(CORPUS))
    for line in table(scores):
        print(line)
    if "--details" in argv:
        total = scores["all"]
        for line in [*total.misses, *total.extras, *total.wrong]:
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
