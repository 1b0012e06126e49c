"""``rnntui sentiment train|evaluate|predict``: the parser of the chapter's other project."""

from __future__ import annotations

from pathlib import Path

from rnntui.cli.common import OVERWRITE_HELP, SAVE_BEST_NAMING, add_setting_flags, add_threads_argument, command
from rnntui.cli.sweep_parser import TENSORBOARD_HELP, add_sweep_command
from rnntui.sentiment.config import SentimentTrainConfig
from rnntui.sentiment.pretrain.config import PretrainConfig

DATA_HELP = ("aclImdb_v1.tar.gz or its extracted aclImdb/ folder (default: the copy in the cache, "
             "downloaded once from Stanford, 84 MB)")


def add_sentiment_commands(commands) -> None:
    sentiment = commands.add_parser(
        "sentiment", help="the movie-review sentiment model: train, sweep, evaluate, predict, pretrain, soup",
        description="The chapter's many-to-one LSTM on the IMDb movie reviews (Maas et al. 2011): "
        "the probability that a review is positive.")
    sentiment.set_defaults(func=lambda args: sentiment.error(
        "choose a command: train, sweep, evaluate, predict, pretrain or soup"))
    tasks = sentiment.add_subparsers(dest="sentiment_command", parser_class=type(sentiment), metavar="COMMAND")

    train = tasks.add_parser("train", help="train a sentiment model (headless)",
                             description="Train on the 20,000 / 5,000 training / validation split of the "
                             "training reviews. --epochs is the total to train to, so a resumed run continues.")
    train.set_defaults(func=command("sentiment", "cmd_train"))
    train.add_argument("--data", type=Path, help=DATA_HELP)
    train.add_argument("--out", type=Path, help="checkpoint file to write (default: a new file in the data "
                       "folder, or the --resume file)")
    train.add_argument("--resume", type=Path, help="continue training this checkpoint")
    settings = add_setting_flags(train, SentimentTrainConfig)
    settings.append(train.add_argument("--save-every", type=int, help="also save every N steps (0: at the end, and "
                                       "with --save-best)"))
    train.add_argument("--from-lm", type=Path, metavar="LM.ckpt", help="start from a language model of the "
                       "reviews (rnntui sentiment pretrain): its vocabulary, embedding and recurrent layer (both "
                       "directions if it read both), and so its sizes")
    train.add_argument("--unlabelled", type=Path, help="unlabelled reviews for --init-embedding ppmi: a tarball or "
                       "folder with aclImdb/train/unsup (default: those in --data, as Stanford's tarball has)")
    model = train.add_argument_group("model", "the book's Embedding(V, 20) -> LSTM(20, 64) -> Linear(64, 64) -> "
                                     "ReLU -> Linear(64, 1) by default; fixed once trained")
    model.add_argument("--cell", choices=["lstm", "gru", "rnn"], help="the recurrent cell (lstm)")
    model.add_argument("--bidirectional", action="store_true", default=None,
                       help="read each review both ways (the book's variant)")
    model.add_argument("--embed-dim", type=int, help="size of each word's embedding (20)")
    model.add_argument("--hidden-size", type=int, help="units of the recurrent layer (64)")
    model.add_argument("--fc-hidden", type=int, help="units of the hidden linear layer (64)")
    model.add_argument("--dropout", type=float, help="dropout on the summary before the classifier (0)")
    model.add_argument("--word-dropout", type=float, help="dropout on the embedded words before the recurrent "
                       "layer (0)")
    model.add_argument("--pooling", choices=["last", "concat"], help="what the classifier reads of each direction: "
                       "its state after the last word, or concat: that and the max and mean of its states over the "
                       "review (last)")
    add_sweep_command(tasks, settings + model._group_actions, task="reviews")
    train.add_argument("--overwrite", action="store_true", help=OVERWRITE_HELP)
    train.add_argument("--save-best", action="store_true", help="also save the checkpoint with the best "
                       f"validation accuracy so far, beside --out: {SAVE_BEST_NAMING}")
    train.add_argument("--test", action="store_true", help="at the end, measure the test accuracy on the "
                       "25,000 test reviews and record it in the checkpoint")
    add_threads_argument(train)
    train.add_argument("--json", action="store_true", help="print one JSON object per step")
    train.add_argument("--log-every", type=int, default=50, help="without a terminal, a progress line every N "
                       "steps, and at each validation (50)")
    train.add_argument("--tensorboard", type=Path, metavar="DIR", help=TENSORBOARD_HELP)

    add_pretrain_command(tasks)
    add_soup_command(tasks)

    evaluate = tasks.add_parser("evaluate", help="test accuracy and loss on the 25,000 test reviews")
    evaluate.set_defaults(func=command("sentiment", "cmd_evaluate"))
    evaluate.add_argument("--checkpoint", type=Path, help="model file (default: the bundled sentiment model)")
    evaluate.add_argument("--data", type=Path, help=DATA_HELP)
    add_threads_argument(evaluate)
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")

    predict = tasks.add_parser("predict", help="the probability that a review is positive",
                               description="Judge a review: the probability that it is positive, and the label.")
    predict.set_defaults(func=command("sentiment", "cmd_predict"))
    predict.add_argument("text", nargs="?", help="the review's text, or - to read it from standard input")
    predict.add_argument("--file", type=Path, help="read the review from this UTF-8 file")
    predict.add_argument("--checkpoint", type=Path, help="model file (default: the bundled sentiment model)")
    predict.add_argument("--explain", action="store_true", help="also the probability after each word, so you "
                         "see which words moved it")
    predict.add_argument("--json", action="store_true", help="print one JSON object")
    add_threads_argument(predict)


def add_pretrain_command(tasks) -> None:
    pretrain = tasks.add_parser(
        "pretrain", help="a language model of the reviews, to start a classifier from (headless)",
        description="Train a word-level LSTM language model on the training reviews' text and the unlabelled "
        "reviews (never the test reviews, nor the 5,000 that validate the classifier), read forward and backward; "
        "its perplexity on held-out unlabelled reviews is reported as it trains. rnntui sentiment train --from-lm "
        "starts a classifier from its embedding and recurrent layer. --epochs is the total to train to, so a "
        "resumed run continues.")
    pretrain.set_defaults(func=command("pretrain", "cmd_pretrain"))
    pretrain.add_argument("--data", type=Path, help=DATA_HELP)
    pretrain.add_argument("--unlabelled", type=Path, help="the unlabelled reviews: a tarball or folder with "
                          "aclImdb/train/unsup (default: those in --data, as Stanford's tarball has)")
    pretrain.add_argument("--out", type=Path, help="checkpoint file to write (default: a new file in the data "
                          "folder, or the --resume file)")
    pretrain.add_argument("--resume", type=Path, help="continue training this language model")
    add_setting_flags(pretrain, PretrainConfig)
    pretrain.add_argument("--save-every", type=int, help="also save every N steps (0: at the end, and with "
                          "--save-best)")
    model = pretrain.add_argument_group("model", "fixed once trained; a classifier started from it has its "
                                        "embedding and recurrent sizes")
    model.add_argument("--directions", choices=["both", "forward"], help="read each review forward and backward "
                       "(a start for both directions of a bidirectional classifier), or forward only (both)")
    model.add_argument("--embed-dim", type=int, help="size of each word's embedding (64)")
    model.add_argument("--hidden-size", type=int, help="units of the recurrent layer (128)")
    model.add_argument("--dropout", type=float, help="dropout on the embedded words and the recurrent outputs (0.1)")
    model.add_argument("--softmax", choices=["adaptive", "full", "tied"], help="the output layer over the "
                       "vocabulary: adaptive (fast on a CPU), full, or tied to the embedding (adaptive)")
    pretrain.add_argument("--overwrite", action="store_true", help=OVERWRITE_HELP)
    pretrain.add_argument("--save-best", action="store_true", help="also save the checkpoint with the lowest "
                          f"validation perplexity so far, beside --out: {SAVE_BEST_NAMING}")
    add_threads_argument(pretrain)
    pretrain.add_argument("--json", action="store_true", help="print one JSON object per step")
    pretrain.add_argument("--log-every", type=int, default=50, help="without a terminal, a progress line every N "
                          "steps, and at each validation (50)")
    pretrain.add_argument("--tensorboard", type=Path, metavar="DIR", help=TENSORBOARD_HELP)


def add_soup_command(tasks) -> None:
    soup = tasks.add_parser(
        "soup", help="average classifiers fine-tuned from one language model into one (a model soup)",
        description="Average the weights of classifiers fine-tuned from the same language model (rnntui sentiment "
        "train --from-lm) into one of the same size (a greedy model soup, Wortsman et al. 2022): from the most "
        "accurate on the validation reviews they held out, each other one is kept in the average only if the "
        "average's validation accuracy does not fall. The test reviews are not read.")
    soup.set_defaults(func=command("soup", "cmd_soup"))
    soup.add_argument("checkpoints", nargs="+", type=Path, metavar="CKPT", help="the classifiers, two or more")
    soup.add_argument("--out", type=Path, required=True, help="checkpoint file to write")
    soup.add_argument("--data", type=Path, help=DATA_HELP)
    soup.add_argument("--overwrite", action="store_true", help=OVERWRITE_HELP)
    add_threads_argument(soup)
    soup.add_argument("--json", action="store_true", help="print one JSON object")
