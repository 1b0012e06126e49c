"""What a language model's checkpoint holds, for people and for scripts: ``rnntui info`` and the
app's f6."""

from __future__ import annotations

from pathlib import Path

from rnntui.charlm.checkpoint import Checkpoint
from rnntui.core.info import common_info, counted, file_line, labelled, made_lines, training_time


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


def info_lines(info: dict) -> list[str]:
    """``checkpoint_info`` for people: one labelled line per subject."""
    model, config = info["model"], info["train_config"] or {}
    layers = counted(model['layers'], 'layer')
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
