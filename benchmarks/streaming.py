"""The app streaming a long reply from the bundled model, with the garbage collector as
`rnntui` tunes it (torch's objects frozen, young collections every 10,000 allocations) and as
Python leaves it: characters streamed per second, and the collector's count, total time and
longest pause (each pause holds the GIL, and so the screen).

    python benchmarks/streaming.py [--seconds 6] [--rounds 2]

Each run is a fresh process (the collector's settings are the process's), headless, 120 x 36;
the two settings alternate.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


async def stream(managed: bool, seconds: float) -> dict:
    from rnntui.tui.app import RnntuiApp

    pauses: list[float] = []
    started = [0.0]

    def timed(phase: str, info: dict) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            pauses.append(time.perf_counter() - started[0])

    app = RnntuiApp(length=1_000_000, random_seed=1, manage_gc=managed)
    async with app.run_test(size=(120, 36)) as pilot:
        while app.chat.info is None:
            await asyncio.sleep(0.05)
        gc.callbacks.append(timed)
        app.query_one("#seed-input").value = "The island"
        await pilot.press("enter")
        began = time.perf_counter()
        await asyncio.sleep(seconds)
        streamed = sum(len(exchange.generated) for exchange in app.chat.exchanges.values())
        elapsed = time.perf_counter() - began
        gc.callbacks.remove(timed)
        app.exit()
    return {"chars_s": streamed / elapsed, "collections": len(pauses), "gc_ms": 1000 * sum(pauses),
            "longest_ms": 1000 * max(pauses, default=0.0)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--one", choices=["tuned", "default"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(asyncio.run(stream(args.one == "tuned", args.seconds))))
        return
    runs: dict[str, list[dict]] = {"tuned": [], "default": []}
    with tempfile.TemporaryDirectory() as data:  # no settings or history of the user's
        for _ in range(args.rounds):
            for name in runs:
                done = subprocess.run([sys.executable, __file__, "--one", name, "--seconds", str(args.seconds)],
                                      capture_output=True, text=True, check=True,
                                      env={**os.environ, "RNNTUI_DATA_DIR": data})
                runs[name].append(json.loads(done.stdout.splitlines()[-1]))
    print(f"| collector ({args.rounds} runs of {args.seconds:g} s each, medians) | chars/s streamed | "
          f"collections | time collecting (ms) | longest pause (ms) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, results in runs.items():
        median = {key: statistics.median(result[key] for result in results) for key in results[0]}
        label = "as rnntui tunes it" if name == "tuned" else "Python's default"
        print(f"| {label} | {median['chars_s']:,.0f} | {median['collections']:,.0f} | "
              f"{median['gc_ms']:,.0f} | {median['longest_ms']:.0f} |")


if __name__ == "__main__":
    main()
