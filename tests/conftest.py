from __future__ import annotations

import errno
import os
import random
import select
import signal
import sys
import time
from pathlib import Path

import pytest

# The suite runs in one worker process per core (pytest-xdist, see pyproject.toml). Each
# worker's torch would start a thread per core as well, and the workers' threads then wait
# on each other: one thread each, and for the processes the tests start.
if "PYTEST_XDIST_WORKER" in os.environ:
    os.environ.setdefault("OMP_NUM_THREADS", "1")

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


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path, monkeypatch):
    """Never touch the real user folders; the default corpus URL points nowhere reachable."""
    monkeypatch.setenv("RNNTUI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("RNNTUI_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("RNNTUI_CORPUS_URL", "http://127.0.0.1:9/unreachable")
    monkeypatch.setenv("RNNTUI_IMDB_URL", "http://127.0.0.1:9/unreachable")


@pytest.fixture
def corpus_file(tmp_path) -> Path:
    path = tmp_path / "tiny.txt"
    path.write_text(make_text(), encoding="utf-8")
    return path


@pytest.fixture
def shared_corpus() -> Path:
    if not SHARED_CORPUS.is_file():
        pytest.skip("the shared corpus ../shared/corpora/mysterious-island-1268-0.txt is absent")
    return SHARED_CORPUS


TINY_MODEL = {"embed_dim": 16, "hidden_size": 32}


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


@pytest.fixture
def reviews_file(tmp_path):
    return reviews_tarball(tmp_path / "reviews.tar.gz", per_folder=100)


def tiny_train_config(**overrides):
    from rnntui.training import TrainConfig

    values = dict(batch_size=8, seq_length=16, eval_every=5, device="cpu", precision="fp32",
                  eval_windows=4, eval_length=64)
    values.update(overrides)
    return TrainConfig(**values)


@pytest.fixture(scope="session")
def tiny_checkpoint_file(tmp_path_factory):
    """Trained once per session (30 steps on the tiny corpus); each test gets its own copy."""
    from rnntui.checkpoint import save_checkpoint
    from rnntui.corpus import load_corpus
    from rnntui.trainers import new_trainer, trainer_checkpoint

    folder = tmp_path_factory.mktemp("tiny")
    corpus_path = folder / "tiny.txt"
    corpus_path.write_text(make_text(), encoding="utf-8")
    corpus = load_corpus(corpus_path)
    trainer = new_trainer(corpus, tiny_train_config(steps=30), **TINY_MODEL)
    list(trainer.run())
    checkpoint = trainer_checkpoint(trainer, corpus)
    checkpoint.elapsed = 0.0  # keep screenshots stable
    checkpoint.created = "2026-01-01T12:00:00+00:00"
    return save_checkpoint(checkpoint, folder / "tiny.ckpt")


@pytest.fixture
def tiny_checkpoint(tiny_checkpoint_file, tmp_path):
    path = tmp_path / "tiny.ckpt"
    path.write_bytes(tiny_checkpoint_file.read_bytes())
    return path
