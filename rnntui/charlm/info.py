"""What a checkpoint holds, for people and for scripts: ``rnntui info`` and the app's f6."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from rnntui.charlm.checkpoint import Checkpoint


def checkpoint_info(checkpoint: Checkpoint, path: Path | None) -> dict:
    """What ``rnntui info`` (and the app's f6) reports about a checkpoint, as plain data (the
    command's ``--json``); ``path`` None: a model not saved yet."""
    history = checkpoint.history or {}
    train, val = history.get("train") or [], history.get("val") or []
    best = min(val, key=lambda point: point[1]) if val else None
    return {
        **common_info(checkpoint, path),
        "vocab": "".join(checkpoint.vocab.char_array),
        "corpus": checkpoint.corpus,
        "last_train_loss": train[-1][1] if train else None,
        "last_val_loss_estimate": val[-1][1] if val else None,
        "best_val_loss_estimate": best[1] if best else None,
        "best_val_loss_step": best[0] if best else None,
    }


def common_info(checkpoint, path: Path | None) -> dict:
    """What every task's ``rnntui info`` reports alike: the file, the model, the training done."""
    return {
        "path": str(path) if path is not None else None,
        "bytes": path.stat().st_size if path is not None and path.is_file() else None,
        "created": checkpoint.created,
        "model": checkpoint.model_config.to_dict(),
        "parameters": sum(tensor.numel() for tensor in checkpoint.model_state.values()),
        "step": checkpoint.step,
        "training_seconds": round(checkpoint.elapsed, 1),
        "train_config": checkpoint.train_config,
        "resumable": checkpoint.optimizer_state is not None,
        "provenance": checkpoint.provenance,
    }


def file_line(info: dict) -> tuple[str, str]:
    return ("file", f"{info['path']} ({info['bytes'] / 1e6:.1f} MB, saved {saved_at(info['created'])})"
                    if info["path"] and info["bytes"] is not None else "not saved yet")


def clock(seconds: float) -> str:
    """``seconds`` as h:mm:ss."""
    hours, rest = divmod(int(seconds), 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


def training_time(info: dict) -> str:
    return f"{info['step']:,} step{'s' if info['step'] != 1 else ''} in {clock(info['training_seconds'])}"


def made_lines(provenance: dict, training_seconds: float = 0.0) -> list[tuple[str, str]]:
    """Where and how a model was made, from its provenance. The wall time is written as the
    training time is (h:mm:ss), and it covers every run of the model; a record from before
    resumed runs added theirs up holds the last run's only, and says so."""
    lines = []
    if provenance.get("machine") or provenance.get("wall_time_s"):
        made = provenance.get("machine") or "-"
        wall = provenance.get("wall_time_s")
        if wall:
            made += f", {clock(wall)} of wall time"
            if wall < training_seconds:  # training time is within wall time: this is one run's
                made += " in its last run"
        lines.append(("made on", made))
    if provenance.get("command"):
        lines.append(("command", provenance["command"]))
    return lines


def saved_at(created: str) -> str:
    """An ISO timestamp as "2026-11-29 11:39 UTC" (in the zone it was written in)."""
    try:
        moment = datetime.fromisoformat(created)
    except (TypeError, ValueError):
        return created or "at an unknown time"
    return (moment.strftime("%Y-%m-%d %H:%M ") + (moment.tzname() or "").replace("UTC+00:00", "UTC")).rstrip()


def info_lines(info: dict) -> list[str]:
    """``checkpoint_info`` for people: one labelled line per subject."""
    model, config = info["model"], info["train_config"] or {}
    layers = f"{model['layers']} layer{'s' if model['layers'] > 1 else ''}"
    lines = [
        file_line(info),
        ("model", f"{model['cell'].upper()}, {layers}, embedding {model['embed_dim']}, hidden {model['hidden_size']}, "
                  f"{model['vocab_size']} characters: {info['parameters']:,} parameters"),
    ]
    # The characters it knows, with the invisible ones written as escapes ("\n", "\t").
    shown = "".join("␣" if char == " " else char if char.isprintable() else repr(char)[1:-1]
                    for char in info["vocab"])
    lines.append(("characters", shown))
    trained = training_time(info)
    if all(isinstance(config.get(name), (int, float)) for name in ("batch_size", "seq_length", "lr")):
        trained += f"; batch {config['batch_size']} × {config['seq_length']}, Adam at {config['lr']:g}"
        if config.get("lr_decay_steps"):
            trained += f" with cosine decay to step {config['lr_decay_steps']:,}"
        if config.get("carry_state"):
            trained += ", state carried"
    if model.get("dropout") or model.get("weight_dropout"):
        trained += f"; dropout {model.get('dropout', 0):g}, weight dropout {model.get('weight_dropout', 0):g}"
    if not info["resumable"]:
        trained += (" (weights only, no optimizer state: --resume and the app's ctrl+t continue it from "
                    f"step {info['step']:,} with a fresh Adam)")
    lines.append(("training", trained))
    corpus = info["corpus"] or {}
    if corpus:
        text = f"{corpus.get('name') or '-'}, {corpus.get('characters') or 0:,} characters"
        if corpus.get("path"):
            text += f", from {corpus['path']}"
        lines.append(("corpus", text))
    losses = []
    if info["last_train_loss"] is not None:
        losses.append(f"training {info['last_train_loss']:.4f}")
    if info["last_val_loss_estimate"] is not None:
        losses.append(f"val~ {info['last_val_loss_estimate']:.4f} (best {info['best_val_loss_estimate']:.4f} "
                      f"at step {info['best_val_loss_step']:,})")
    if losses:
        lines.append(("last losses", ", ".join(losses) + " nats/char"))
    provenance = info["provenance"] or {}
    if provenance.get("val_loss") is not None:
        lines.append(("validation", f"{provenance['val_loss']:.4f} nats/char, exact, over "
                                    f"{provenance.get('val_characters') or 0:,} held-out characters "
                                    f"({provenance.get('evaluated_with') or 'rnntui evaluate'})"))
    if provenance.get("finetuned_from"):
        base = provenance["finetuned_from"]
        lines.append(("fine-tuned", f"from {base.get('checkpoint')} at step {base.get('step') or 0:,} "
                                    f"(trained on {base.get('corpus') or '-'})"))
    lines += made_lines(provenance, info["training_seconds"])
    return labelled(lines)


def labelled(lines: list[tuple[str, str]]) -> list[str]:
    return [f"{label + ':':13s}{text}" for label, text in lines]
