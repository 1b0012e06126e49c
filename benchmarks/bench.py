"""rnntui's benchmark: training and sampling against the book's loops, the machine's matmul
peak, the app's start and key latency, and peak training memory. Prints a Markdown table.

    python benchmarks/bench.py [--corpus PATH] [--device cpu] [--steps 40] [--out results.md]

Every figure is measured in this run, on this machine; ratios compare runs made side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.baselines import BookRNN, book_sample, book_train_step  # noqa: E402
from rnntui.charlm import lstm  # noqa: E402
from rnntui.charlm.corpus import load_corpus  # noqa: E402
from rnntui.charlm.model import CharRNN, ModelConfig, training_flops_per_char  # noqa: E402
from rnntui.charlm.sampling import Sampler  # noqa: E402
from rnntui.charlm.trainer import TrainConfig, Trainer  # noqa: E402
from rnntui.core.device import cpu_name, resolve_device, resolve_precision  # noqa: E402

SHARED = ROOT.parent / "shared" / "corpora" / "mysterious-island-1268-0.txt"
BATCH, SEQ = 64, 40


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(fn, repeats: int, device: torch.device, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    sync(device)
    started = time.perf_counter()
    for _ in range(repeats):
        fn()
    sync(device)
    return (time.perf_counter() - started) / repeats


def matmul_peak(device: torch.device, dtype: torch.dtype, size: int = 2048) -> float:
    """GFLOP/s of a square matrix multiply with every core torch uses. Without hardware
    support a dtype can be 100x slower, so the size shrinks until one product takes < 0.5 s."""
    try:
        while True:
            a = torch.randn(size, size, device=device).to(dtype)
            b = torch.randn(size, size, device=device).to(dtype)
            one = timed(lambda a=a, b=b: a @ b, 1, device, warmup=1)
            if one < 0.5 or size <= 256:
                break
            size //= 2
        repeats = max(1, min(50, int(2.0 / max(one, 1e-6))))
        seconds = timed(lambda: a @ b, repeats, device, warmup=0)
    except RuntimeError:
        return float("nan")
    return 2 * size**3 / seconds / 1e9


def _book_in_own_process(conn, vocab_size: int, state: dict, device: str, threads: int) -> None:
    """The book's training loop in a process of its own, as the notebook runs: rnntui's
    process-wide settings (the allocator's, see rnntui/core/memory.py) do not reach it. The parent
    sends ``(warmup, repeats, windows)`` for each round and gets the timing and losses back."""
    torch.set_num_threads(threads)
    device = torch.device(device)
    book = BookRNN(vocab_size).to(device)
    book.load_state_dict(state)
    optimizer = torch.optim.Adam(book.parameters(), lr=0.005)
    loss_fn = torch.nn.CrossEntropyLoss()
    while (job := conn.recv()) is not None:
        warmup, repeats, windows = job
        it = iter([w.to(device) for w in windows])  # on the device before the clock starts
        losses = []

        def step(it=it, losses=losses):
            w = next(it)
            losses.append(book_train_step(book, optimizer, loss_fn, w[:, :-1], w[:, 1:]))

        conn.send((timed(step, repeats, device, warmup), losses))


def bench_training(corpus, device: torch.device, steps: int, precision: str) -> dict:
    """The book's per-character loop against rnntui's trainer: same model, same windows. The
    book's loop runs twice: in a process of its own (as the notebook runs) and in this one,
    where rnntui's allocator setting applies to it too."""
    import multiprocessing

    vocab_size = len(corpus.vocab)
    train_ids, val_ids = corpus.split(0.1)
    config = TrainConfig(steps=10**9, batch_size=BATCH, seq_length=SEQ, device=str(device),
                         precision=precision, eval_every=0, grad_clip=1e9)
    torch.manual_seed(0)
    book = BookRNN(vocab_size).to(device)
    model = CharRNN(ModelConfig(vocab_size)).to(device)
    model.load_state_dict(book.state_dict())
    child_end, conn = multiprocessing.Pipe()
    child = multiprocessing.get_context("spawn").Process(
        target=_book_in_own_process, daemon=True,
        args=(conn, vocab_size, {k: v.cpu() for k, v in book.state_dict().items()}, str(device),
              torch.get_num_threads()))
    child.start()
    trainer = Trainer(model, train_ids, val_ids, config, device, precision)  # sets the allocator
    rounds = 4 if steps >= 8 else 1
    per_round = max(1, steps // rounds)
    windows = [trainer.batch() for _ in range(rounds * (per_round + 2))]
    book_opt = torch.optim.Adam(book.parameters(), lr=0.005)
    loss_fn = torch.nn.CrossEntropyLoss()

    book_losses, own_losses, our_losses = [], [], []
    it_book, it_ours = iter(windows), iter(windows)

    def book_step():
        w = next(it_book)
        book_losses.append(book_train_step(book, book_opt, loss_fn, w[:, :-1], w[:, 1:]))

    def our_step():
        our_losses.append(trainer.train_step(next(it_ours)))

    # Alternate the contenders in rounds, so a machine that slows down or speeds up mid-run
    # (shared cores, turbo) affects all alike. Only one of them runs at any time.
    own_s = book_s = ours_s = 0.0
    for r in range(rounds):
        child_end.send((2, per_round, [w.cpu() for w in windows[r * (per_round + 2):(r + 1) * (per_round + 2)]]))
        seconds, losses = child_end.recv()
        own_s += seconds / rounds
        own_losses += losses
        book_s += timed(book_step, per_round, device) / rounds
        ours_s += timed(our_step, per_round, device) / rounds
    child_end.send(None)
    child.join()
    chars = BATCH * SEQ
    diff = max(abs(a - b) for a, b in zip(book_losses, our_losses, strict=True))
    own_diff = max(abs(a - b) for a, b in zip(own_losses, book_losses, strict=True))
    with torch.enable_grad():
        input_lookup = lstm.can_use(model.rnn, windows[0]) and precision == "fp32"
    return {"input_lookup": input_lookup, "own_chars_s": chars / own_s, "own_ratio": own_s / ours_s,
            "own_loss_diff": own_diff,
            "book_chars_s": chars / book_s, "ours_chars_s": chars / ours_s, "ratio": book_s / ours_s,
            "loss_max_diff": diff, "steps": rounds * per_round, "precision": precision}


def bench_precision_curves(corpus, device: torch.device, steps: int) -> dict:
    """Loss after ``steps`` steps in fp32 and bf16 from the same start and windows."""
    out = {}
    for precision in ("fp32", "bf16"):
        torch.manual_seed(0)
        train_ids, val_ids = corpus.split(0.1)
        config = TrainConfig(steps=steps, batch_size=BATCH, seq_length=SEQ, device=str(device),
                             precision=precision, eval_every=0)
        trainer = Trainer(CharRNN(ModelConfig(len(corpus.vocab))), train_ids, val_ids, config, device, precision)
        try:
            started = time.perf_counter()
            losses = [e.train_loss for e in trainer.run()]
            out[precision] = {"final_loss": statistics.mean(losses[-5:]),
                              "chars_s": steps * BATCH * SEQ / (time.perf_counter() - started)}
        except RuntimeError as error:
            out[precision] = {"error": str(error).splitlines()[0][:80]}
    return out


def bench_sampling(corpus, length: int) -> dict:
    """Batch-1 generation on the CPU: the book's ``sample()`` against ``Sampler``."""
    vocab = corpus.vocab
    torch.manual_seed(0)
    book = BookRNN(len(vocab))
    model = CharRNN(ModelConfig(len(vocab)))
    model.load_state_dict(book.state_dict())
    seed_text = "The island"
    book_sample(book, seed_text, vocab.char2int, vocab.char_array, 20)  # warm up
    started = time.perf_counter()
    book_sample(book, seed_text, vocab.char2int, vocab.char_array, length)
    book_s = time.perf_counter() - started
    started = time.perf_counter()
    book_sample(book, seed_text, vocab.char2int, vocab.char_array, 1)
    book_first = time.perf_counter() - started

    sampler = Sampler(model, vocab, 1.0, random_seed=0)
    list(sampler.stream(seed_text, 20))
    started = time.perf_counter()
    stream = sampler.stream(seed_text, length)
    next(stream)
    first = time.perf_counter() - started
    for _ in stream:
        pass
    ours_s = time.perf_counter() - started
    return {"book_chars_s": length / book_s, "ours_chars_s": length / ours_s, "ratio": book_s / ours_s,
            "book_first_ms": book_first * 1000, "ours_first_ms": first * 1000}


FLOOR_APP = """
from textual.app import App
from textual.widgets import Footer, Header, Input


class Floor(App):
    BINDINGS = [(key, "bell", name) for key, name in [
        ("ctrl+r", "Again"), ("ctrl+t", "Train/pause"), ("ctrl+s", "Save"), ("ctrl+o", "Open"),
        ("ctrl+l", "Length"), ("f1", "Help"), ("ctrl+q", "Quit")]]

    def compose(self):
        yield Header()
        yield Input(placeholder="Type a seed text")
        yield Footer()


Floor().run()
"""


def seconds_to_frames(argv: list[str], size: tuple[int, int] = (120, 36), timeout: float = 30.0) -> dict:
    """Seconds from starting ``argv`` in a pseudo-terminal until it has written its first frame
    (``first``: the bottom line, which Textual writes last), and until its footer shows the keys
    (``keys``: "Quit" is written; Textual's Footer mounts its keys a frame or more later)."""
    import fcntl
    import pty
    import select
    import signal
    import struct
    import termios

    markers = {"first": f"\x1b[{size[1]};1H".encode(), "keys": b"Quit"}
    started = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:  # the child: a terminal of the given size, then the app
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
        os.environ["TERM"] = "xterm-256color"
        os.execv(argv[0], argv)
    written, seen = b"", {}
    try:
        while len(seen) < len(markers):
            if time.perf_counter() - started > timeout:
                raise RuntimeError(f"no frame from {argv} in {timeout} s")
            if select.select([fd], [], [], 0.5)[0]:
                written += os.read(fd, 1 << 16)
                for name, marker in markers.items():
                    if name not in seen and marker in written:
                        seen[name] = time.perf_counter() - started
        return seen
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(fd)


def bench_first_frame(runs: int = 7) -> dict:
    """Launch to first frame in a terminal: ``python -m rnntui``, ``python -m rnntui --checkpoint
    FILE`` (``file_*``: the command line's parser is built, which the bare start skips) and, as the
    floor, a Textual app with only a header, an input and a footer. Runs alternate; medians."""
    if os.name != "posix":
        return {}
    import compileall

    # pip compiles an installed package's bytecode; a source checkout (or PYTHONDONTWRITEBYTECODE)
    # may not have it, and compiling rnntui's modules at each launch costs about 30 ms.
    compileall.compile_dir(ROOT / "rnntui", quiet=1)
    # As a user starts it: `rnntui` alone, which opens the bundled model.
    from rnntui.core.paths import bundled_model_path

    apps = {"app": [sys.executable, "-m", "rnntui"],
            "file": [sys.executable, "-m", "rnntui", "--checkpoint", str(bundled_model_path())],
            "floor": [sys.executable, "-c", FLOOR_APP]}
    times: dict[str, list[float]] = {}
    for _ in range(runs):
        for name, argv in apps.items():
            for marker, seconds in seconds_to_frames(argv).items():
                times.setdefault(f"{name}_{marker}_s", []).append(seconds)
    return {name: statistics.median(values) for name, values in times.items()}


async def key_latency_while_training(corpus_path: Path, presses: int = 40, train_steps: int = 40) -> dict:
    """Key press to updated status line while the book's model trains in the background, plus
    the app's training speed over that time.

    The key goes in as a terminal would send it (a Key event on the app's queue), and the clock
    stops when the status line shows the new scale factor. Pilot.press is not used: it waits
    until the process is idle, which a process that is training never is.
    """
    from textual import events

    from rnntui.tui.app import RnntuiApp

    # As `rnntui` runs it: the app tunes the garbage collector (app_in_its_own_process gives it
    # a process of its own).
    app = RnntuiApp(corpus=corpus_path, train_config=TrainConfig(eval_every=0, device="cpu"), manage_gc=True)
    latencies = []
    async with app.run_test(size=(120, 36)) as pilot:
        while app.info is None:
            await asyncio.sleep(0.05)
        app.action_toggle_training()
        while app.session.step < 3:
            await asyncio.sleep(0.05)
        status = app.query_one("#status")
        for i in range(presses):
            key = "ctrl+up" if i % 2 == 0 else "ctrl+down"
            before = app.chat.scale_factor
            started = time.perf_counter()
            app.post_message(events.Key(key, None))
            while app.chat.scale_factor == before or f"{app.chat.scale_factor:.2f}" not in str(status.render()):
                await asyncio.sleep(0.001)
            latencies.append(time.perf_counter() - started)
            await asyncio.sleep(0.1)
        step0, t0 = app.session.step, time.perf_counter()
        while app.session.step < step0 + train_steps:
            await asyncio.sleep(0.05)
        app_rate = (app.session.step - step0) * BATCH * SEQ / (time.perf_counter() - t0)
        app.session.trainer.stop()
        del pilot
    latencies.sort()
    return {"median_ms": statistics.median(latencies) * 1000,
            "p95_ms": latencies[int(0.95 * (len(latencies) - 1))] * 1000, "app_train_chars_s": app_rate}


def app_in_its_own_process(corpus_path: Path) -> dict:
    """``key_latency_while_training`` in a fresh process, as ``rnntui`` runs. This process has
    trained in its main thread, and the OpenMP worker pool that leaves there makes every other
    thread's pool wait the slow way (more pooled threads than cores), the app's training thread's too."""
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--corpus", str(corpus_path), "--app-json"],
                          cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


# Runs rnntui's CLI and, on exit, prints the process's peak resident memory (kB) on stderr. The
# kernel's own account (getrusage, wait4) counts the memory of the process that forked it, a
# benchmark process holding torch and models: VmHWM counts only the program's own.
PEAK_MEMORY_WRAPPER = """
import atexit, sys
from rnntui.cli import main
atexit.register(lambda: print(open("/proc/self/status").read().split("VmHWM:")[1].split()[0], file=sys.stderr))
sys.exit(main(sys.argv[1:]))
"""


def run_training(corpus_path: Path, steps: int, *options: str) -> tuple[str, float]:
    """``rnntui train`` for ``steps`` steps in a fresh process, its checkpoint thrown away: its
    standard output, and its own peak resident memory in MB (Linux)."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        argv = [sys.executable, "-c", PEAK_MEMORY_WRAPPER, "train", "--corpus", str(corpus_path),
                "--steps", str(steps), "--out", str(Path(folder) / "bench.ckpt"), "--device", "cpu", *options]
        done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=True)
    return done.stdout, int(done.stderr.split()[-1]) / 1024


def cli_training_speed(corpus_path: Path, steps: int = 60, skip: int = 20) -> float:
    """Characters/s of ``rnntui train`` in a fresh process, the app's training settings, over
    the steps after the first ``skip`` (the same steady state the app is timed in)."""
    stdout, _ = run_training(corpus_path, steps, "--eval-every", "0", "--json")
    events = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    first, last = events[skip - 1], events[-1]
    return (last["step"] - first["step"]) * BATCH * SEQ / (last["elapsed"] - first["elapsed"])


def peak_training_memory(corpus_path: Path) -> float:
    """Peak resident memory (MB) of ``rnntui train`` on the full corpus for a few steps."""
    return run_training(corpus_path, 5, "--eval-every", "5")[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=SHARED)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--steps", type=int, default=40, help="timed training steps per contender")
    parser.add_argument("--length", type=int, default=2000, help="characters sampled per contender")
    parser.add_argument("--skip-app", action="store_true")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--app-json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.app_json:  # the app's measurements, in a process of their own
        from rnntui.core import memory
        memory.keep_freed_memory()  # as rnntui's entry point does
        print(json.dumps(asyncio.run(key_latency_while_training(args.corpus))))
        return

    device = resolve_device(args.device)
    precision = resolve_precision("auto", device)
    corpus = load_corpus(args.corpus)
    model_config = ModelConfig(len(corpus.vocab))
    flops_char = training_flops_per_char(model_config)
    rows = []

    def row(what: str, value: str, note: str = "") -> None:
        rows.append((what, value, note))
        print(f"{what:55s} {value:>14s}  {note}", flush=True)

    print(f"# rnntui benchmark: {cpu_name()}, {torch.get_num_threads()} torch threads, torch {torch.__version__}, "
          f"device {device}, precision auto -> {precision}\n", flush=True)
    peak32 = matmul_peak(device, torch.float32)
    peak16 = matmul_peak(device, torch.bfloat16)
    row("matmul peak float32 (GFLOP/s)", f"{peak32:,.1f}", "2048x2048, all threads")
    row("matmul peak bfloat16 (GFLOP/s)", f"{peak16:,.1f}", "")

    train = bench_training(corpus, device, args.steps, precision)
    row("training, book's per-character loop, own process (chars/s)", f"{train['own_chars_s']:,.0f}",
        f"batch {BATCH} x {SEQ}, as the notebook runs")
    row("training, book's loop with rnntui's allocator setting (chars/s)", f"{train['book_chars_s']:,.0f}",
        "in rnntui's process (rnntui/core/memory.py)")
    row(f"training, rnntui trainer, {precision} (chars/s)", f"{train['ours_chars_s']:,.0f}", "")
    row("training speed-up (rnntui / book, own process)", f"{train['own_ratio']:.2f}x", "target >= 2.5x")
    row("training speed-up (rnntui / book with the allocator setting)", f"{train['ratio']:.2f}x",
        "rnntui's own code alone")
    row("loss curves, max abs(book - rnntui) over the timed steps", f"{train['loss_max_diff']:.2e}",
        f"same windows; book in its own process vs here: {train['own_loss_diff']:.1e}")
    row("training FLOPs per character, the model's", f"{flops_char:,}", "3 x (2*4*512*(256+512) + 2*512*V)")
    peak = peak16 if precision == "bf16" else peak32
    mfu = train["ours_chars_s"] * flops_char / 1e9 / peak
    row("model FLOP utilisation (rnntui / matmul peak)", f"{mfu:.1%}", f"against the {precision} peak"
        + (": over 100% as the input product is a lookup, see below" if mfu > 1 and train["input_lookup"] else ""))
    if train["input_lookup"]:
        executed = training_flops_per_char(model_config, input_lookup=True)
        row("training FLOPs per character, executed by rnntui", f"{executed:,}",
            "3 x (2*4*512*512 + 2*512*V): the input product is a table lookup")
        row("hardware FLOP utilisation (executed / matmul peak)",
            f"{train['ours_chars_s'] * executed / 1e9 / peak:.1%}", f"against the {precision} peak")

    curves = bench_precision_curves(corpus, device, max(args.steps, 20))
    for name, result in curves.items():
        if "error" in result:
            row(f"precision {name}: loss after {max(args.steps, 20)} steps", "n/a", result["error"])
        else:
            row(f"precision {name}: loss after {max(args.steps, 20)} steps", f"{result['final_loss']:.4f}",
                f"{result['chars_s']:,.0f} chars/s")

    sampling = bench_sampling(corpus, args.length)
    row("generation, book's sample() (chars/s)", f"{sampling['book_chars_s']:,.0f}", "batch 1, CPU")
    row("generation, rnntui Sampler (chars/s)", f"{sampling['ours_chars_s']:,.0f}", "")
    row("generation speed-up (rnntui / book)", f"{sampling['ratio']:.2f}x", "target >= 3x")
    row("time to first character, book / rnntui (ms)",
        f"{sampling['book_first_ms']:.1f} / {sampling['ours_first_ms']:.1f}", "target < 50 ms")

    if not args.skip_app:
        frame = bench_first_frame()
        if frame:
            row("app: launch to first frame, in a terminal (s)", f"{frame['app_first_s']:.2f}",
                "python -m rnntui in a pseudo-terminal, median of 7; target < 0.5 s")
            row("app: launch to the footer's keys (s)", f"{frame['app_keys_s']:.2f}",
                "Textual's footer adds its keys a frame or more after the first")
            row("Textual's floor, header + input + footer: first frame / keys (s)",
                f"{frame['floor_first_s']:.2f} / {frame['floor_keys_s']:.2f}",
                f"timed the same way. rnntui's first frame comes "
                f"{frame['app_first_s'] - frame['floor_first_s']:+.2f} s after the floor's, its keys "
                f"{frame['app_keys_s'] - frame['floor_keys_s']:+.2f} s after the floor's")
        # The app and `rnntui train` alternate, each in a fresh process, two rounds each.
        rounds = [(app_in_its_own_process(args.corpus), cli_training_speed(args.corpus)) for _ in range(2)]
        app_speed = statistics.median(app["app_train_chars_s"] for app, _ in rounds)
        cli_speed = statistics.median(cli for _, cli in rounds)
        row("app: key latency while training, median / p95 (ms)",
            f"{statistics.median(a['median_ms'] for a, _ in rounds):.0f} / "
            f"{max(a['p95_ms'] for a, _ in rounds):.0f}", "target p95 < 100 ms; the worse p95 of two runs")
        row("app: training speed inside the app (chars/s)", f"{app_speed:,.0f}",
            f"{app_speed / cli_speed:.0%} of rnntui train ({cli_speed:,.0f}), both fresh processes, "
            "alternating, 40 steps; target >= 80%")
    row("peak memory, rnntui train on the full corpus (MB)", f"{peak_training_memory(args.corpus):,.0f}", "max RSS")

    table = ["| measurement | value | note |", "| --- | ---: | --- |"]
    table += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    header = (f"Measured {time.strftime('%Y-%m-%d')} on {cpu_name()} ({os.cpu_count()} cores, "
              f"{torch.get_num_threads()} torch threads), torch {torch.__version__}, device {device}.")
    text = header + "\n\n" + "\n".join(table) + "\n"
    print("\n" + text)
    if args.out:
        args.out.write_text(text)
        args.out.with_suffix(".json").write_text(json.dumps(
            {"rows": rows, "training": train, "sampling": sampling}, indent=1, default=str))


if __name__ == "__main__":
    main()
