"""What a sentiment checkpoint holds, for ``rnntui info`` (people and ``--json``)."""

from __future__ import annotations

import math
from pathlib import Path

from rnntui.core.info import clock, common_info, counted, file_line, labelled, made_lines, training_time
from rnntui.core.tasks import REVIEW_LM_TASK, SENTIMENT_TASK
from rnntui.sentiment.checkpoint import SentimentCheckpoint


def embedding_start(config: dict, data: dict) -> str | None:
    """How the embedding started, in words (None: at random, as the book's)."""
    starts = str(config.get("init_embedding") or "random").split("+")
    parts = []
    if "ppmi" in starts:
        unlabelled = data.get("unlabelled_reviews")
        extra = f" and {unlabelled:,} unlabelled ones" if isinstance(unlabelled, int) and unlabelled else ""
        parts.append(f"from how words co-occur in the training reviews{extra}")
    if "nb" in starts:
        parts.append("with each word's naive-Bayes log-count ratio in its first dimension")
    return "started " + ", ".join(parts) if parts else None


def sentiment_info(checkpoint: SentimentCheckpoint, path: Path | None) -> dict:
    history = checkpoint.history or {}
    accuracy = history.get("accuracy") or []
    best = max(accuracy, key=lambda point: (point[1], -point[0])) if accuracy else None
    train = history.get("train") or []
    return {
        "task": SENTIMENT_TASK,
        **common_info(checkpoint, path),
        "vocab_size": len(checkpoint.vocab),
        "data": checkpoint.data,
        "last_train_loss": train[-1][1] if train else None,
        "last_val_accuracy": accuracy[-1][1] if accuracy else None,
        "best_val_accuracy": best[1] if best else None,
        "best_val_accuracy_step": best[0] if best else None,
    }


def sentiment_info_lines(info: dict) -> list[str]:
    model, config, data = info["model"], info["train_config"] or {}, info["data"] or {}
    provenance = info["provenance"] or {}
    way = "bidirectional " if model.get("bidirectional") else ""
    pooling = " on the last state, max and mean (concat pooling)" if model.get("pooling") == "concat" else ""
    lines = [
        file_line(info),
        ("task", "sentiment of movie reviews (rnntui sentiment)"),
        ("model", f"{way}{model['cell'].upper()}, embedding {model['embed_dim']}, hidden {model['hidden_size']}, "
                  f"linear {model['fc_hidden']}{pooling}, {info['vocab_size']:,} words: {info['parameters']:,} "
                  "parameters"),
    ]
    trained = training_time(info)
    soup = provenance.get("soup")
    names = [str(item.get("checkpoint")) for item in soup.get("ingredients") or [] if isinstance(item, dict)] \
        if isinstance(soup, dict) else []
    if len(names) > 1:  # the settings and steps are its first member's; the time all of theirs
        trained = (f"{clock(info['training_seconds'])} for its {len(names)} classifiers together; {names[0]}'s run: "
                   f"{counted(info['step'], 'step')}")
    if all(isinstance(config.get(name), (int, float)) for name in ("batch_size", "lr", "epochs")):
        trained += (f" ({counted(config['epochs'], 'epoch')} set); batch {config['batch_size']}, "
                    f"Adam at {config['lr']:g}")
        if config.get("lr_schedule") == "linear":
            trained += " falling linearly to 0"
        decay = config.get("layer_lr_decay")
        if isinstance(decay, (int, float)) and decay != 1:
            trained += f" (the LSTM at / {decay:g}, the embedding at / {decay:g}²)"
        if config.get("gradual_unfreezing") is True:
            trained += ", gradual unfreezing"
        if config.get("max_tokens"):
            trained += f", reviews cut to {config['max_tokens']} words"
    if model.get("dropout"):
        trained += f"; dropout {model['dropout']:g}"
    if model.get("word_dropout"):
        trained += f", {model['word_dropout']:g} on the embedded words"
    if not info["resumable"]:
        trained += " (weights only: it cannot be resumed)"
    lines.append(("training", trained))
    if data:
        lines.append(("data", f"{data.get('name') or '-'}: {data.get('train_reviews') or 0:,} training and "
                              f"{data.get('valid_reviews') or 0:,} validation reviews"))
    start = embedding_start(config, data)
    from_lm = provenance.get("from_lm")
    if isinstance(from_lm, dict):
        start = f"started from the language model {from_lm.get('checkpoint')} (step {from_lm.get('step')}), with " \
                "its recurrent layer"
    if start:
        lines.append(("embedding", start))
    if names:
        accuracy = soup.get("val_accuracy")
        lines.append(("soup", (f"the average of {len(names)} classifiers' weights" if len(names) > 1
                               else "the weights of one classifier, no average did better") + f" ({', '.join(names)})"
                              + (f": validation accuracy {accuracy:.4f}" if isinstance(accuracy, float) else "")))
    if info["best_val_accuracy"] is not None:
        run = f" in {names[0]}'s run" if names else ""  # a soup keeps its first member's curves
        lines.append(("validation", f"accuracy {info['last_val_accuracy']:.4f} (best {info['best_val_accuracy']:.4f} "
                                    f"at step {info['best_val_accuracy_step']:,}){run}"))
    if provenance.get("test_accuracy") is not None:
        lines.append(("test", f"accuracy {provenance['test_accuracy']:.4f} on "
                              f"{provenance.get('test_reviews') or 0:,} test reviews"))
    return labelled(lines + made_lines(provenance, info["training_seconds"]))


def lm_info(checkpoint, path: Path | None) -> dict:
    """What ``rnntui info`` reports of a review language model (``rnntui sentiment pretrain``)."""
    val = (checkpoint.history or {}).get("val") or []
    best = min(val, key=lambda point: point[1]) if val else None
    config = checkpoint.train_config or {}
    data = checkpoint.data or {}
    words = data.get("train_words")
    # The reviews it trains on: those of two words or more (all of the dataset's).
    texts = data.get("train_texts") or (data.get("train_reviews") or 0) + (data.get("unlabelled_reviews") or 0)
    per_epoch = -(-texts // config["batch_size"]) if isinstance(config.get("batch_size"), int) and texts else None
    return {
        "task": REVIEW_LM_TASK,
        **common_info(checkpoint, path),
        "vocab_size": len(checkpoint.vocab),
        "data": checkpoint.data,
        "epochs_done": checkpoint.step / per_epoch if per_epoch else None,
        "train_words": words,
        "last_val_perplexity": math.exp(val[-1][1]) if val else None,
        "best_val_perplexity": math.exp(best[1]) if best else None,
        "best_val_perplexity_step": best[0] if best else None,
    }


def lm_info_lines(info: dict) -> list[str]:
    model, config, data = info["model"], info["train_config"] or {}, info["data"] or {}
    ways = "forward and backward" if model.get("bidirectional") else "forward"
    lines = [
        file_line(info),
        ("task", "a language model of movie reviews, a classifier's start (rnntui sentiment train --from-lm)"),
        ("model", f"LSTM read {ways}, embedding {model['embed_dim']}, hidden {model['hidden_size']}, "
                  f"{model['softmax']} softmax, {info['vocab_size']:,} words: {info['parameters']:,} parameters"),
    ]
    trained = training_time(info)
    if info["epochs_done"] is not None:
        trained += f" (epoch {info['epochs_done']:.2f} of {config.get('epochs')})"
    lines.append(("training", trained + ("" if info["resumable"] else " (weights only: it cannot be resumed)")))
    if data:
        lines.append(("data", f"{data.get('name') or '-'}: {data.get('train_reviews') or 0:,} training and "
                              f"{data.get('unlabelled_reviews') or 0:,} unlabelled reviews "
                              f"({data.get('train_words') or 0:,} words); {data.get('valid_reviews') or 0:,} "
                              "unlabelled ones held out"))
    if info["best_val_perplexity"] is not None:
        lines.append(("validation", f"perplexity {info['last_val_perplexity']:.1f} (best "
                                    f"{info['best_val_perplexity']:.1f} at step {info['best_val_perplexity_step']:,})"))
    return labelled(lines + made_lines(info["provenance"] or {}, info["training_seconds"]))
