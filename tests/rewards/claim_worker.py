"""A process that claims from a pool with many threads, for the ledger's concurrency test::

    python -m tests.rewards.claim_worker URL POOL THREADS ATTEMPTS CONTACTS SEED

Prints one JSON line: how many claims were granted and refused, by reason.
"""

from __future__ import annotations

import json
import random
import sys
import threading
from collections import Counter

import siyu
from siyu.plugins.rewards.claims import ClaimRefused, claim


def main(url: str, pool: str, threads: int, attempts: int, contacts: int, seed: int) -> None:
    ws = siyu.open(url, load_entry_points=False, migrate=False)
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def work(n: int) -> None:
        rng = random.Random(seed * 1000 + n)
        for _ in range(attempts):
            contact = rng.randint(1, contacts)
            try:
                claim(ws, pool, contact, source="test")
                key = "granted"
            except ClaimRefused as refused:
                key = refused.reason
            with lock:
                outcomes[key] += 1

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    ws.close()
    print(json.dumps(dict(outcomes)))


if __name__ == "__main__":
    url, pool, threads, attempts, contacts, seed = sys.argv[1:7]
    main(url, pool, int(threads), int(attempts), int(contacts), int(seed))
