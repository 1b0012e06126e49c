"""What rnntui writes, and only that: it never replaces or deletes a file it did not write, two
runs never write one file, a save is never cut short by a second ctrl+c, and files that are
not regular files (pipes, devices) or outputs that fail get one line, not a hang or a traceback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from rnntui.charlm import checkpoint as checkpoint_module
from rnntui.charlm.checkpoint import load_checkpoint
from rnntui.core.checkpoint import MAGIC, list_checkpoints
from rnntui.core.files import TEMP_MARK, stale_temp_files
from rnntui.core.lock import OutputLock, lock_path
from rnntui.core.metrics import MetricsFollower
from tests.helpers import TINY, run


@pytest.fixture
def trained(capsys, corpus_file, tmp_path):
    out = tmp_path / "m.ckpt"
    assert train(capsys, corpus_file, out, steps="10")[0] == 0
    return out


def train(capsys, corpus_file, out, *extra, steps="4"):
    return run(capsys, "train", "--corpus", str(corpus_file), "--steps", steps, "--out", str(out), *TINY, *extra)


def one_error_line(code, err, match):
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("rnntui: error:") and match in err, err
    assert "Traceback" not in err


# -- --out replaces only rnntui's own checkpoints, when asked ----------------------------------

def test_out_never_replaces_a_file_that_is_not_a_checkpoint(capsys, corpus_file, tmp_path):
    text = corpus_file.read_bytes()
    code, _, err = train(capsys, corpus_file, corpus_file)  # the text itself
    one_error_line(code, err, "is not an rnntui checkpoint; rnntui will not replace it")
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes")
    code, _, err = train(capsys, corpus_file, notes, "--overwrite")  # --overwrite does not reach it
    one_error_line(code, err, "is not an rnntui checkpoint")
    assert corpus_file.read_bytes() == text and notes.read_text() == "my notes"
    assert not list(tmp_path.glob(".*.tmp")) and not list(tmp_path.glob("*.lock"))


def test_out_never_replaces_a_device(capsys, corpus_file):
    code, _, err = train(capsys, corpus_file, os.devnull, "--overwrite")
    one_error_line(code, err, "is a device, not a regular file")
    import stat

    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)


def test_another_runs_checkpoint_needs_resume_or_overwrite(capsys, corpus_file, tmp_path):
    out = tmp_path / "run.ckpt"
    assert train(capsys, corpus_file, out, steps="6")[0] == 0
    before = out.read_bytes()
    code, _, err = train(capsys, corpus_file, out, steps="2")  # a new run on the same --out
    one_error_line(code, err, f"pass --resume {out} to continue it, or --overwrite to replace it")
    assert out.read_bytes() == before
    code, _, _ = run(capsys, "train", "--resume", str(out), "--corpus", str(corpus_file), "--steps", "8")
    assert code == 0 and load_checkpoint(out).step == 8  # --resume of it may write it
    code, _, _ = train(capsys, corpus_file, out, "--overwrite", steps="2")
    assert code == 0 and load_checkpoint(out).step == 2
    # --resume of one file with --out another, existing, checkpoint is a new writer there.
    other = tmp_path / "other.ckpt"
    other.write_bytes(before)
    code, _, err = run(capsys, "train", "--resume", str(out), "--corpus", str(corpus_file), "--steps", "4",
                       "--out", str(other))
    one_error_line(code, err, "--overwrite to replace it")
    assert other.read_bytes() == before


def test_out_through_a_symlink_writes_its_target_and_keeps_the_link(capsys, corpus_file, tmp_path):
    target = tmp_path / "real" / "model.ckpt"
    target.parent.mkdir()
    link = tmp_path / "link.ckpt"
    link.symlink_to(target)
    code, out, _ = train(capsys, corpus_file, link)
    assert code == 0 and link.is_symlink() and os.readlink(link) == str(target)
    assert load_checkpoint(target).step == 4 and str(target) in out
    loop = tmp_path / "loop.ckpt"
    loop.symlink_to(tmp_path / "loop2.ckpt")
    (tmp_path / "loop2.ckpt").symlink_to(loop)
    code, _, err = train(capsys, corpus_file, loop)
    one_error_line(code, err, "symbolic link that loops")
    code, _, err = run(capsys, "info", str(loop))
    one_error_line(code, err, "symbolic link that loops")


def test_save_best_never_replaces_a_file_that_is_not_a_checkpoint(capsys, corpus_file, tmp_path):
    out = tmp_path / "b.ckpt"
    best = tmp_path / "b.best.ckpt"
    best.write_text("mine")
    code, _, err = train(capsys, corpus_file, out, "--save-best")
    one_error_line(code, err, "b.best.ckpt exists and is not an rnntui checkpoint")
    assert best.read_text() == "mine" and not out.exists()


# -- --keep rotates only the snapshots it wrote --------------------------------------------------

def test_keep_deletes_only_its_own_snapshots(capsys, corpus_file, tmp_path):
    folder = tmp_path / "keep"
    folder.mkdir()
    out = folder / "run.ckpt"
    foreign = {name: f"{name} is the person's" for name in
               ("run.step-backup.ckpt", "run.stepA.ckpt", "run.step12.ckpt", "run.step0000001.ckpt.bak")}
    for name, text in foreign.items():
        (folder / name).write_text(text)
    # Named as a snapshot, but not an rnntui checkpoint: neither counted nor deleted.
    (folder / "run.step0000002.ckpt").write_text("not a checkpoint")
    code, _, err = train(capsys, corpus_file, out, "--save-every", "2", "--keep", "2", steps="8")
    assert code == 2 and "run.step0000002.ckpt exists and is not an rnntui checkpoint" in err
    (folder / "run.step0000002.ckpt").unlink()
    code, _, _ = train(capsys, corpus_file, out, "--save-every", "2", "--keep", "2", "--overwrite", steps="8")
    assert code == 0
    for name, text in foreign.items():
        assert (folder / name).read_text() == text
    snapshots = sorted(p.name for p in folder.glob("run.step000*.ckpt"))
    assert snapshots == ["run.step0000006.ckpt", "run.step0000008.ckpt"]


def test_keep_rotates_only_this_runs_snapshots_judged_by_their_headers(capsys, corpus_file, tmp_path):
    """Checkpoints of other runs named as this run's snapshots (a language model's, a sentiment
    model's) and a file of the person's survive --keep 2; this run's own older snapshots are
    rotated, also across a --resume of its file; a fresh run does not replace another run's
    snapshot at a step it would write."""
    from rnntui.core.paths import bundled_sentiment_model_path

    folder = tmp_path / "keep"
    folder.mkdir()
    out = folder / "run.ckpt"
    assert train(capsys, corpus_file, folder / "other.ckpt", steps="2")[0] == 0
    foreign = {"run.step0000001.ckpt": (folder / "other.ckpt").read_bytes(),
               "run.step0000003.ckpt": bundled_sentiment_model_path().read_bytes(),
               "run.step0000005.ckpt": b"the person's notes"}
    for name, data in foreign.items():
        (folder / name).write_bytes(data)

    def snapshots():
        return sorted(p.name for p in folder.glob("run.step*.ckpt") if p.name not in foreign)

    code, _, err = train(capsys, corpus_file, out, "--save-every", "2", "--keep", "2", steps="8")
    assert code == 0, err
    assert snapshots() == ["run.step0000006.ckpt", "run.step0000008.ckpt"]
    code, _, err = run(capsys, "train", "--resume", str(out), "--corpus", str(corpus_file), "--steps", "12",
                       "--save-every", "2", "--keep", "2")
    assert code == 0, err
    assert snapshots() == ["run.step0000010.ckpt", "run.step0000012.ckpt"]
    for name, data in foreign.items():
        assert (folder / name).read_bytes() == data
    # A new run in the same file is another run: the old one's snapshot at its step 10 stays.
    before = (folder / "run.step0000010.ckpt").read_bytes()
    code, _, err = train(capsys, corpus_file, out, "--save-every", "10", "--keep", "2", "--overwrite", steps="10")
    one_error_line(code, err, "run.step0000010.ckpt is the checkpoint of another run; --keep would write this "
                   "run's step 10 there")
    assert (folder / "run.step0000010.ckpt").read_bytes() == before


def test_keep_rotates_only_files_it_names_and_writes_not_links_or_renamed_copies(capsys, corpus_file, tmp_path):
    """Links named as the newest snapshots, and a copy of one of this run's snapshots under a
    name rnntui never gives (eight digits), are not this run's snapshots: they stay, and do not
    push the run's own newest snapshots out."""
    folder = tmp_path / "links"
    folder.mkdir()
    out = folder / "run.ckpt"
    precious = folder / "precious.ckpt"
    assert train(capsys, corpus_file, precious, steps="2")[0] == 0
    code, _, err = train(capsys, corpus_file, out, "--save-every", "2", "--keep", "2", steps="4")
    assert code == 0, err
    (folder / "run.step0000095.ckpt").symlink_to(precious)
    (folder / "run.step0000096.ckpt").symlink_to(out)
    renamed = folder / "run.step00000001.ckpt"
    renamed.write_bytes((folder / "run.step0000002.ckpt").read_bytes())
    code, _, err = run(capsys, "train", "--resume", str(out), "--corpus", str(corpus_file), "--steps", "8",
                       "--save-every", "2", "--keep", "2")
    assert code == 0, err
    regular = sorted(p.name for p in folder.glob("run.step000000*.ckpt") if not p.is_symlink() and p != renamed)
    assert regular == ["run.step0000006.ckpt", "run.step0000008.ckpt"]
    assert (folder / "run.step0000095.ckpt").is_symlink() and (folder / "run.step0000096.ckpt").is_symlink()
    assert renamed.exists() and precious.exists()


# -- one writer per file -------------------------------------------------------------------------

def test_a_second_writer_is_refused_while_the_first_holds_the_lock(capsys, corpus_file, tmp_path):
    out = tmp_path / "busy.ckpt"
    with OutputLock(out):
        assert lock_path(out).read_text() == f"{os.getpid()}\n"
        code, _, err = train(capsys, corpus_file, out)
        one_error_line(code, err, f"is being written by another rnntui run (process {os.getpid()})")
        assert not out.exists()
    assert not lock_path(out).exists()  # released and removed
    # A lock file left by a run that was killed holds no lock: the next run takes it over.
    lock_path(out).write_text("999999\n")
    code, _, _ = train(capsys, corpus_file, out)
    assert code == 0 and load_checkpoint(out).step == 4 and not lock_path(out).exists()
    # A file of the person's that happens to have the lock's name is left alone.
    lock_path(out).write_text("my shopping list")
    code, _, err = run(capsys, "train", "--resume", str(out), "--corpus", str(corpus_file), "--steps", "6")
    one_error_line(code, err, "is not an rnntui lock file")
    assert lock_path(out).read_text() == "my shopping list" and load_checkpoint(out).step == 4


def test_two_processes_on_one_out(corpus_file, tmp_path):
    out = tmp_path / "two.ckpt"
    command = [sys.executable, "-m", "rnntui", "train", "--corpus", str(corpus_file), "--out", str(out),
               "--log-every", "1", *TINY]
    first = subprocess.Popen([*command, "--steps", "1000000"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=dict(os.environ, PYTHONUNBUFFERED="1"))
    try:
        for line in first.stdout:
            if line.startswith("step 2/"):
                break
        second = subprocess.run([*command, "--steps", "3", "--overwrite"], capture_output=True, text=True,
                                timeout=60)
        assert second.returncode == 2 and f"(process {first.pid})" in second.stderr
        assert second.stderr.count("\n") == 1
    finally:
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=60)
    assert first.returncode == 0 and load_checkpoint(out).step >= 2


# -- the final save is not cut short -------------------------------------------------------------

@pytest.mark.parametrize("presses", [1, 2])
def test_ctrl_c_during_the_final_save(capsys, corpus_file, tmp_path, monkeypatch, presses):
    """One more ctrl+c while the final save is written is held back, and the save completes;
    two more within a few seconds force the exit, saying what is lost (the file as it was)."""
    out = tmp_path / "final.ckpt"
    assert train(capsys, corpus_file, out, steps="4")[0] == 0
    before = out.read_bytes()
    real_save = checkpoint_module.save_checkpoint

    def save_while_interrupted(*args, **kwargs):
        for _ in range(presses):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)  # the handler runs in this thread, between two bytecodes
        return real_save(*args, **kwargs)

    monkeypatch.setattr(checkpoint_module, "save_checkpoint", save_while_interrupted)
    code, stdout, err = run(capsys, "train", "--resume", str(out), "--corpus", str(corpus_file), "--steps", "10")
    assert "Traceback" not in err
    if presses == 1:
        assert code == 0 and "saving the last 6 steps" in err and "done at step 10" in stdout
        assert load_checkpoint(out).step == 10
    else:
        assert code == 130 and "the last 6 training steps are not saved" in err
        assert out.read_bytes() == before
        assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


# -- what a killed save leaves -------------------------------------------------------------------

def test_stale_temporary_files_of_killed_saves_are_removed(capsys, corpus_file, tmp_path):
    out = tmp_path / "t.ckpt"
    header = MAGIC
    stale = [tmp_path / f".t.ckpt{TEMP_MARK}abcd_123.tmp", tmp_path / ".t.ckpt.x1y2z3w4.tmp",
             tmp_path / f".t.step0000040.ckpt{TEMP_MARK}q1w2e3r4.tmp"]  # a --keep copy's, of any step
    stale[0].write_bytes(header + b'{"format_version": 2, "sha256": "12')  # cut off in its header
    stale[1].write_bytes(header[:5])  # the older naming, cut off inside the magic line
    stale[2].write_bytes(header)
    kept = [tmp_path / ".t.ckpt.notes123.tmp", tmp_path / f".t.ckpt{TEMP_MARK}toolongname.tmp",
            tmp_path / f".other.ckpt{TEMP_MARK}abcd_123.tmp",
            # rnntui's naming exactly, but other content: not a save of rnntui's.
            tmp_path / f".t.ckpt{TEMP_MARK}notes456.tmp", tmp_path / f".t.ckpt{TEMP_MARK}magic789.tmp"]
    kept[0].write_text("the person's own file, in the older naming's shape")
    kept[1].write_bytes(header)
    kept[2].write_bytes(header)
    kept[3].write_text("the person's own file, in rnntui's naming")
    kept[4].write_bytes(header + b"and then something else")
    old = time.time() - 60
    for path in stale + kept:
        os.utime(path, (old, old))
    assert sorted(stale_temp_files(out, time.time())) == sorted(stale[:2])
    assert train(capsys, corpus_file, out)[0] == 0
    assert not any(path.exists() for path in stale) and all(path.exists() for path in kept)


# -- the metrics file after a run stopped mid-line ------------------------------------------------

def test_a_torn_last_metrics_line_is_ended_before_the_next_run_appends(capsys, corpus_file, tmp_path, trained):
    """A full disk stopped a run in the middle of a metrics line: the next run starts a line of
    its own, so only the torn line is lost (and readers skip it)."""
    import json

    metrics = trained.parent / "m.ckpt.metrics.jsonl"
    with open(metrics, "a", encoding="utf-8") as f:
        f.write('{"step": 11, "train_lo')
    code, _, err = run(capsys, "train", "--resume", str(trained), "--corpus", str(corpus_file), "--steps", "14")
    assert code == 0, err
    parsed, torn = [], []
    for line in metrics.read_text(encoding="utf-8").splitlines():
        try:
            parsed.append(json.loads(line)["step"])
        except ValueError:
            torn.append(line)
    assert parsed == list(range(1, 15)) and torn == ['{"step": 11, "train_lo']
    assert len(MetricsFollower(metrics).read_new()) == 14


# -- files that are not regular files ------------------------------------------------------------

@pytest.mark.timeout(30)
def test_a_fifo_or_a_device_is_refused_at_once(capsys, corpus_file, tmp_path, trained):
    fifo = tmp_path / "pipe.ckpt"
    os.mkfifo(fifo)
    for argv in (["info", str(fifo)], ["generate", "--checkpoint", str(fifo)],
                 ["evaluate", "--checkpoint", str(fifo), "--corpus", str(corpus_file)],
                 ["train", "--resume", str(fifo), "--corpus", str(corpus_file)]):
        code, _, err = run(capsys, *argv)
        one_error_line(code, err, "is not a regular file (a named pipe)")
    for corpus in (fifo, "/dev/zero", "/dev/urandom"):
        code, _, err = run(capsys, "train", "--corpus", str(corpus), "--steps", "2", *TINY,
                           "--out", str(tmp_path / "x.ckpt"))
        one_error_line(code, err, "is not a regular file")
        code, _, err = run(capsys, "evaluate", "--checkpoint", str(trained), "--corpus", str(corpus))
        one_error_line(code, err, "is not a regular file")
    # The app's picker lists the folder: a pipe named *.ckpt is passed over, not waited on.
    assert [path.name for path, _ in list_checkpoints(tmp_path)] == ["m.ckpt"]
    # A pipe where the metrics file goes would block the run's first write.
    os.mkfifo(tmp_path / "y.ckpt.metrics.jsonl")
    code, _, err = run(capsys, "train", "--corpus", str(corpus_file), "--steps", "2", *TINY,
                       "--out", str(tmp_path / "y.ckpt"))
    one_error_line(code, err, "is not a regular file (a named pipe)")
    assert MetricsFollower(tmp_path / "y.ckpt.metrics.jsonl").read_new() == []


def test_a_corpus_over_the_size_limit_says_how_to_raise_it(capsys, corpus_file, tmp_path, monkeypatch):
    monkeypatch.setenv("RNNTUI_MAX_CORPUS_MB", "0.005")  # 5,000 bytes; the test text is 20,000
    code, _, err = train(capsys, corpus_file, tmp_path / "big.ckpt")
    one_error_line(code, err, "over rnntui's limit of 0 MB")
    assert "RNNTUI_MAX_CORPUS_MB=1 to read it anyway" in err
    monkeypatch.setenv("RNNTUI_MAX_CORPUS_MB", "1")
    assert train(capsys, corpus_file, tmp_path / "big.ckpt")[0] == 0


# -- outputs that fail ---------------------------------------------------------------------------

def test_a_full_disk_under_the_metrics_file_is_one_line(capsys, corpus_file, tmp_path, monkeypatch):
    import errno

    from rnntui.core import metrics
    out = tmp_path / "m.ckpt"
    assert train(capsys, corpus_file, out, steps="4")[0] == 0
    real_open = open

    class FullDisk:
        def __init__(self, f):
            self.f = f

        def write(self, text):
            return self.f.write(text)

        def flush(self):
            raise OSError(errno.ENOSPC, "No space left on device")

        def close(self):
            self.f.close()

        def fileno(self):
            return self.f.fileno()

    def opened(path, mode="r", *args, **kwargs):  # the metrics file opened to append to, on a full disk
        f = real_open(path, mode, *args, **kwargs)
        return FullDisk(f) if mode == "a" else f

    monkeypatch.setattr(metrics, "open", opened, raising=False)
    code, _, err = run(capsys, "train", "--resume", str(out), "--corpus", str(corpus_file), "--steps", "20",
                       "--eval-every", "3")
    one_error_line(code, err, "m.ckpt.metrics.jsonl: the disk is full; training stopped at step 6")
    assert "saved step 6" in err and load_checkpoint(out).step == 6  # intact, with what was trained


def test_stdout_full_or_closed_is_one_line(corpus_file, tmp_path, trained):
    """Real file descriptors: /dev/full (every write fails) and a closed stdout."""
    def start(argv, **redirect):
        return subprocess.Popen([sys.executable, "-m", "rnntui", *argv], stderr=subprocess.PIPE, text=True,
                                **redirect)

    generate = ["generate", "--checkpoint", str(trained), "--seed-text", "The", "--length", "50"]
    out = tmp_path / "full.ckpt"
    with open("/dev/full", "w") as full:
        runs = [(start(generate, stdout=full), "cannot write the output: the disk is full"),
                (start(["train", "--corpus", str(corpus_file), "--steps", "3", "--out", str(out), *TINY], stdout=full),
                 "cannot write the output: the disk is full; training stopped at step 0; nothing was saved"),
                (start(generate, stdout=subprocess.DEVNULL, preexec_fn=lambda: os.close(1)),
                 "standard output is closed")]
        for process, message in runs:
            _, err = process.communicate(timeout=60)
            assert process.returncode == 2 and err.count("\n") == 1 and message in err, err
    assert not out.exists()


# -- smaller ---------------------------------------------------------------------------------

def test_watch_skips_lines_with_numbers_that_cannot_be_plotted(tmp_path):
    metrics = tmp_path / "w.ckpt.metrics.jsonl"
    metrics.write_text('{"step": 1, "train_loss": 2.0}\n{"step": 1e999, "train_loss": 2.0}\n'
                       '{"step": 2, "train_loss": Infinity}\n{"step": 3, "train_loss": NaN}\n'
                       '{"step": 4, "train_loss": 1.5, "val_loss": -Infinity}\n{"step": 5, "train_loss": 1.4}\n')
    assert [point.step for point in MetricsFollower(metrics).read_new()] == [1, 5]


def test_a_diverging_run_that_saved_nothing_says_so(capsys, corpus_file, tmp_path):
    out = tmp_path / "d.ckpt"
    code, _, err = train(capsys, corpus_file, out, "--lr", "1e30", steps="50")
    assert code == 1 and "diverged" in err and "no checkpoint of this run had been saved yet" in err
    assert "keeps the last saved state" not in err and not out.exists()


def test_resuming_on_an_edited_text_says_so(capsys, corpus_file, tmp_path):
    out = tmp_path / "e.ckpt"
    assert train(capsys, corpus_file, out)[0] == 0
    edited = tmp_path / "edited.txt"
    text = corpus_file.read_text(encoding="utf-8")
    edited.write_text(text[len(text) // 2:] + text[:len(text) // 2], encoding="utf-8")  # same characters
    code, _, err = run(capsys, "train", "--resume", str(out), "--corpus", str(edited), "--steps", "6")
    assert code == 0 and err.count("\n") == 1 and "has changed since this model was trained on it" in err
    code, _, err = run(capsys, "train", "--resume", str(out), "--corpus", str(edited), "--steps", "8")
    assert code == 0 and err == ""  # the run now records the text as it is


# -- the app's saves (the session behind ctrl+s, f4 and the autosave) --------------------------

def test_the_apps_saves_replace_only_their_own_checkpoint(corpus_file, tmp_path, monkeypatch):
    from rnntui.charlm import session as session_module
    from rnntui.charlm.session import Session
    from rnntui.charlm.trainer import TrainConfig
    from rnntui.core.errors import CheckpointError
    from rnntui.core.paths import checkpoints_dir
    from tests.helpers import TINY_MODEL

    session = Session(TrainConfig(batch_size=4, seq_length=8, eval_every=0, device="cpu"), TINY_MODEL)
    session.open(corpus=corpus_file)
    # ctrl+s's new file in the data folder is named by the time: one of that name already there
    # (another model's) is not replaced.
    monkeypatch.setattr(session_module.time, "strftime", lambda *_: "20260101-000000")
    first = session.save()
    assert first.parent == checkpoints_dir()
    other = Session(TrainConfig(batch_size=4, seq_length=8, eval_every=0, device="cpu"), TINY_MODEL)
    other.open(corpus=corpus_file)
    before = first.read_bytes()
    with pytest.raises(CheckpointError, match="checkpoint of another run; save it under another name with f4"):
        other.save()
    assert first.read_bytes() == before
    # Its own file is saved again, unless something else has taken its place since.
    assert session.save() == first
    first.write_text("the person's file now")
    with pytest.raises(CheckpointError, match="is not an rnntui checkpoint"):
        session.save()
    with pytest.raises(CheckpointError, match="is not an rnntui checkpoint"):
        session.save(first)  # not even when chosen with save as
    assert first.read_text() == "the person's file now"
    # While another rnntui run writes the file, the app does not.
    mine = tmp_path / "mine.ckpt"
    assert session.save(mine) == mine
    with OutputLock(mine):
        with pytest.raises(CheckpointError, match="being written by another rnntui run"):
            session.save()
    assert session.save() == mine


def test_the_app_says_when_the_text_it_trains_on_was_edited(corpus_file, tmp_path):
    from rnntui.charlm.session import Session
    from rnntui.charlm.trainer import TrainConfig
    from tests.helpers import TINY_MODEL

    config = TrainConfig(batch_size=4, seq_length=8, eval_every=0, device="cpu")
    session = Session(config, TINY_MODEL)
    session.open(corpus=corpus_file)
    saved = session.save(tmp_path / "w.ckpt")
    again = Session(config, TINY_MODEL)
    again.open(checkpoint=saved)
    again.ensure_trainer()
    assert again.corpus_note is None  # the same text
    text = corpus_file.read_text(encoding="utf-8")
    corpus_file.write_text(text[::-1], encoding="utf-8")  # the same characters, edited
    edited = Session(config, TINY_MODEL)
    edited.open(checkpoint=saved)
    edited.ensure_trainer()
    assert "has changed since this model was trained on it" in edited.corpus_note


def test_metrics_lines_that_are_not_records_are_skipped_and_never_appended_to(tmp_path):
    """A line nested 70,000 deep (json would recurse until the stack ran out), a step beyond any
    counter, and a first line that merely mentions "step": none is a record; a file that starts
    with one is not rnntui's to append to."""
    from rnntui.core.errors import StorageError
    from rnntui.core.metrics import MetricsFollower, check_metrics_file, metrics_record

    good = '{"step": 3, "train_loss": 2.5}'
    assert metrics_record(good) == {"step": 3, "train_loss": 2.5}
    for line in ("[" * 70_000, '{"step": 9223372036854775808, "train_loss": 1}', '"my step by step notes"',
                 '["step"]', '{"step": true}', '{"step": {"a": 1}}'):
        assert metrics_record(line) is None, line[:40]
    path = tmp_path / "run.ckpt.metrics.jsonl"
    path.write_text("[" * 70_000 + "\n" + good + "\n", encoding="utf-8")
    assert [point.step for point in MetricsFollower(path).read_new()] == [3]
    notes = tmp_path / "notes.ckpt.metrics.jsonl"
    notes.write_text('"my step by step notes"\n', encoding="utf-8")
    with pytest.raises(StorageError, match="not an rnntui metrics file"):
        check_metrics_file(notes)


def test_the_reviews_modes_saves_keep_the_chats_safety(tmp_path):
    """Both sessions save through one path (core/save): the reviews mode's save too writes a
    link's target and keeps the link, never replaces a file that is not a checkpoint, refuses
    while another run holds the file's lock, and removes what a killed save of it left."""
    from rnntui.core.errors import RnntuiError
    from rnntui.sentiment.checkpoint import load_sentiment_checkpoint
    from rnntui.sentiment.session import ReviewSession
    from rnntui.sentiment.trainer import SentimentTrainConfig
    from tests.helpers import reviews_tarball

    data = reviews_tarball(tmp_path / "reviews.tar.gz", per_folder=10)
    session = ReviewSession(data, SentimentTrainConfig(epochs=1, batch_size=8),
                            {"embed_dim": 4, "hidden_size": 4, "fc_hidden": 4})
    session.ensure_trainer()
    notes = tmp_path / "notes.ckpt"
    notes.write_text("the person's notes")
    with pytest.raises(RnntuiError, match="exists and is not an rnntui checkpoint; rnntui will not replace it"):
        session.save(notes)
    assert notes.read_text() == "the person's notes"
    target, link = tmp_path / "model.ckpt", tmp_path / "link.ckpt"
    link.symlink_to(target)
    assert session.save(link) == target and link.is_symlink()
    assert load_sentiment_checkpoint(target).model_config.hidden_size == 4
    own = session.save()  # its own file, in the data folder: saved again and again
    with OutputLock(own):
        with pytest.raises(RnntuiError, match=f"another rnntui run \\(process {os.getpid()}\\)"):
            session.save()
    stale = own.with_name(f".{own.name}{TEMP_MARK}abcd_123.tmp")
    stale.write_bytes(MAGIC)
    old = time.time() - 60
    os.utime(stale, (old, old))
    assert session.save() == own and not stale.exists()
