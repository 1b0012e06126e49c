"""What several test modules share that is not a fixture (fixtures are in conftest.py)."""

from __future__ import annotations

import errno
import http.server
import math
import os
import random
import runpy
import select
import signal
import sys
import time
from pathlib import Path

import torch
from hypothesis import strategies as st

from rnntui.charlm.model import CharRNN, ModelConfig
from rnntui.charlm.sampling import Sampler
from rnntui.charlm.vocab import Vocab
from rnntui.cli import main

SHARED_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "mysterious-island-1268-0.txt"


WORDS = ("the island engineer sailor balloon sea shore rock cave fire wood water north south "
         "captain reporter boy dog forest river granite house").split()


def make_text(n_chars: int = 20_000, seed: int = 0) -> str:
    """A small, learnable, made-up text (never the novel: that stays out of the repo)."""
    rng = random.Random(seed)
    out, size = [], 0
    while size < n_chars:
        sentence = " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 10)))
        sentence = sentence[0].upper() + sentence[1:] + rng.choice(".!?") + rng.choice([" ", "\n"])
        out.append(sentence)
        size += len(sentence)
    return "".join(out)[:n_chars]


def disk_full(fd) -> None:
    """A stand-in for os.fsync on a full disk (monkeypatch it in)."""
    raise OSError(errno.ENOSPC, "No space left on device")


# Where each program started by run_in_terminal writes its threads' stacks when asked (SIGUSR1):
# a program that does not end after a hang-up is failed with them, so that the failure says where
# it waited.
_STACKS: dict[int, str] = {}
_WITH_STACKS = ("import faulthandler, runpy, signal, sys; "
                "faulthandler.register(signal.SIGUSR1, file=open(sys.argv.pop(1), 'w'), all_threads=True); "
                "sys.argv.pop(1); runpy.run_module(sys.argv.pop(1), run_name='__main__', alter_sys=True)")


def run_in_terminal(argv: list[str]) -> tuple[int, int]:
    """Start ``python -m module args`` (``argv`` as given to python) on a new pseudo-terminal:
    (its pid, the terminal's other end)."""
    import pty
    import tempfile

    assert argv[0] == "-m", "run_in_terminal starts a module: ['-m', name, ...]"
    handle, stacks = tempfile.mkstemp(prefix="rnntui-stacks-", suffix=".txt")
    os.close(handle)
    pid, terminal = pty.fork()
    if pid == 0:
        os.execv(sys.executable, [sys.executable, "-c", _WITH_STACKS, stacks, *argv])
    _STACKS[pid] = stacks
    return pid, terminal


def read_terminal(terminal: int, until: bytes, seconds: float) -> bytes:
    """What the program drew until ``until`` appears (or ``seconds`` pass). Its output must be
    read all along, or it blocks once the terminal's buffer is full."""
    screen, deadline = b"", time.monotonic() + seconds
    while until not in screen and time.monotonic() < deadline:
        if select.select([terminal], [], [], 0.05)[0]:
            screen += os.read(terminal, 65536)
    return screen


def process_threads(pid: int) -> str:
    """Each thread's state and the kernel function it waits in, where /proc says (Linux)."""
    lines = []
    for task in sorted(Path(f"/proc/{pid}/task").glob("*")):
        try:
            stat = (task / "stat").read_text()
            wchan = (task / "wchan").read_text()
        except OSError:
            continue
        name, state = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2]
        lines.append(f"thread {task.name} {name}: state {state}, waiting in {wchan or '-'}")
    return "\n".join(lines)


def hang_up(pid: int, terminal: int, seconds: float = 30) -> int:
    """Close the terminal as its window would, and wait for the program: its wait status.
    Closing it sends SIGHUP to the program (the session leader of the terminal pty.fork made);
    it is sent here as well, as a window's shell may send it again, and for systems that do not."""
    os.close(terminal)
    os.kill(pid, signal.SIGHUP)
    deadline = time.monotonic() + seconds
    stacks = Path(_STACKS.pop(pid))
    try:
        while time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return status
            time.sleep(0.05)
        threads = process_threads(pid)  # before the dump: a stopped program cannot write one
        os.kill(pid, signal.SIGUSR1)
        time.sleep(1.0)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        where = f"{threads}\n{stacks.read_text(errors='replace') or '(no stacks written)'}"
    finally:
        stacks.unlink(missing_ok=True)
    raise AssertionError(f"the program did not end after the hang-up; its threads were at:\n{where}")


TINY_MODEL = {"embed_dim": 16, "hidden_size": 32}
# rnntui sentiment pretrain's flags for a language model of made-up reviews that trains in seconds.
TINY_REVIEW_LM = ["--embed-dim", "8", "--hidden-size", "16", "--batch-size", "16", "--lr", "0.01",
                  "--valid-reviews", "20", "--eval-every", "5"]


def made_up_review(rng, positive: bool) -> str:
    """A review of a few neutral words and one that gives the verdict away."""
    words = "film plot actor scene story music camera ending".split()
    tone = rng.choice(["great", "wonderful", "loved"] if positive else ["awful", "boring", "hated"])
    body = [rng.choice(words) for _ in range(rng.randint(4, 16))]
    body.insert(rng.randrange(len(body)), tone)
    return " ".join(body).capitalize() + "."


def reviews_tarball(path, per_folder: int = 40, seed: int = 0, train_only_pos: bool = False, unlabelled: int = 0):
    """The dataset's layout (aclImdb/{train,test}/{pos,neg}/ID_RATING.txt, and ``unlabelled``
    reviews in aclImdb/train/unsup/ID_0.txt) holding made-up reviews."""
    import io
    import random
    import tarfile

    rng = random.Random(seed)
    with tarfile.open(path, "w:gz") as archive:
        number = 0
        for split in ("train", "test"):
            for label in ("pos", "neg"):
                for _ in range(per_folder):
                    number += 1
                    data = made_up_review(rng, label == "pos").encode()
                    info = tarfile.TarInfo(f"aclImdb/{split}/{label}/{number}_{8 if label == 'pos' else 2}.txt")
                    info.size = len(data)
                    archive.addfile(info, io.BytesIO(data))
        for number in range(unlabelled):
            data = made_up_review(rng, rng.random() < 0.5).encode()
            info = tarfile.TarInfo(f"aclImdb/train/unsup/{number}_0.txt")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def tiny_train_config(**overrides):
    from rnntui.charlm.trainer import TrainConfig

    values = dict(batch_size=8, seq_length=16, eval_every=5, device="cpu", precision="fp32",
                  eval_windows=4, eval_length=64)
    values.update(overrides)
    return TrainConfig(**values)


TINY = ["--embed-dim", "16", "--hidden-size", "32", "--batch-size", "8", "--seq-length", "16",
        "--eval-every", "5", "--device", "cpu"]


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


SMALL = ["--embed-dim", "8", "--hidden-size", "16", "--fc-hidden", "16", "--batch-size", "16", "--lr", "0.01"]


def one_error_line(code, err, match):
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert match in lines[0], lines[0]


def set_path(payload, where, value):
    target = payload
    for key in where[:-1]:
        target = target[key]
    target[where[-1]] = value


def field_paths(payload, prefix=()):
    """Every place in the payload a mutation can reach (not inside tensors)."""
    if isinstance(payload, dict):
        for key, value in payload.items():
            yield (*prefix, key)
            yield from field_paths(value, (*prefix, key))
    elif isinstance(payload, (list, tuple)) and len(payload) <= 8:
        for index, value in enumerate(payload):
            if isinstance(payload, list):
                yield (*prefix, index)
            yield from field_paths(value, (*prefix, index))


# Hostile values for any field: of the wrong type, out of range, of the wrong shape.
hostile = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=5),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.builds(lambda n: torch.zeros(n), st.integers(0, 4)),
    st.builds(lambda n: torch.full((n, 2), math.nan, dtype=torch.float64), st.integers(1, 3)),
)


ROOT = Path(__file__).resolve().parents[1]


def run_script(path: Path, *argv, monkeypatch, capsys) -> tuple[int, str, str]:
    """``python path argv`` in this process: (exit status, stdout, stderr)."""
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(sys, "argv", [str(path), *map(str, argv)])
    threads = torch.get_num_threads()  # a benchmark may set its own
    try:
        runpy.run_path(str(path), run_name="__main__")
        code = 0
    except SystemExit as exit:
        code = exit.code if isinstance(exit.code, int) else 0 if exit.code is None else 1
    finally:
        torch.set_num_threads(threads)
    out, err = capsys.readouterr()
    return code, out, err


class Handler(http.server.BaseHTTPRequestHandler):
    routes: dict = {}
    hits: dict = {}

    def do_GET(self):  # noqa: N802 - http.server's name
        Handler.hits[self.path] = Handler.hits.get(self.path, 0) + 1
        kind, body = Handler.routes.get(self.path, ("404", b""))
        if kind == "hang":
            time.sleep(3)
            return
        if kind == "404":
            self.send_error(404)
            return
        self.send_response(200)
        # The truncated route claims the full length and then sends half of it.
        self.send_header("Content-Length", str(len(body) * (2 if kind == "short" else 1)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


VOCAB = Vocab(tuple(sorted(set("The island is a rock.\n Who?"))))


with torch.random.fork_rng():  # the same weights every time, without touching the tests' own seed
    torch.manual_seed(0)
    SAMPLER = Sampler(CharRNN(ModelConfig(len(VOCAB), 8, 16)), VOCAB, 1.0, random_seed=0)


SHARED_REVIEWS = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "aclImdb_v1-labelled.tar.gz"
