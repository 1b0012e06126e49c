"""Every key of the app, in one table: each part's bindings, the footer's order, the help
screen, the command palette and the check of the key tables in docs/app.md and README.md
(tests/tui/test_layout.py) are all derived from it.

A row names its action, the keys that run it, the footer's short label, the help screen's line
and, where the label is too short to find it by, a longer title for the palette, and the part of
the app it belongs to: the app itself (keys of every mode, and the switch between them), the
chat or the reviews (each pane's BINDINGS, active while it is on the screen). Actions with no key
(``keys`` empty) are commands of the palette only.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding

from rnntui.tui.widgets.loss_panel import RECENT_STEPS

# Below this many columns the chat takes the whole width and the chart starts hidden (app.tcss).
CHART_BELOW = 70
# The app's modes: the chat with the language model, and the sentiment of movie reviews. A key
# works, and shows in the footer and the help screen, only in the modes its row names.
CHAT, REVIEWS = "chat", "reviews"
BOTH = (CHAT, REVIEWS)
APP = "app"  # the part of the keys the app itself handles
SCALE_KEYS = Binding.Group("Scale", compact=True)  # one "^↑^↓ Scale" in the footer


@dataclass(frozen=True)
class Key:
    id: str  # the binding's id, for keymaps (and this table's own lookups)
    action: str
    keys: str  # Textual's spelling, comma-separated; "" for a command of the palette only
    label: str  # in the footer (and the palette, unless ``title``)
    help: str  # in the help screen (and the palette's help line)
    title: str = ""  # the palette's title, where ``label`` is too short to find the action by
    footer: bool = True  # shown in the footer
    group: Binding.Group | None = None
    priority: bool = False  # before the focused widget sees it
    palette: bool = True  # a command of the palette
    part: str = CHAT  # whose BINDINGS hold it, and whose action it runs: APP, CHAT or REVIEWS
    modes: tuple[str, ...] = ()  # where it works; by default its part's mode (both, for the app's)

    def __post_init__(self) -> None:
        if not self.modes:
            object.__setattr__(self, "modes", BOTH if self.part == APP else (self.part,))

    @property
    def palette_title(self) -> str:
        return self.title or self.label


KEYS: tuple[Key, ...] = (
    Key("help", "help", "f1", "Help", "this help", part=APP),
    Key("generate", "generate", "enter", "Generate", "generate a reply from the seed text"),
    # In the footer only while a reply streams (the chat's check_action).
    Key("stop", "stop_stream", "escape", "Stop", "stop the reply that is streaming"),
    Key("regenerate", "regenerate", "ctrl+r", "Again", "generate again from the last seed text"),
    # Off the footer (full at 130 columns), like copy; enter on an empty seed text does it too.
    Key("continue", "continue_reply", "ctrl+g", "Continue",
        "continue the last reply (also: enter with no seed text)", footer=False),
    # alt+arrows too: macOS takes ctrl+up / ctrl+down for Mission Control by default.
    Key("scale-up", "scale(1)", "ctrl+up,alt+up", "Scale ↑",
        "raise the scale factor (bolder, more predictable text)", group=SCALE_KEYS),
    Key("scale-down", "scale(-1)", "ctrl+down,alt+down", "Scale ↓", "lower the scale factor (wilder text)",
        group=SCALE_KEYS),
    Key("train", "toggle_training", "ctrl+t", "Train/pause",
        "start / pause training (resumes from the current step)"),
    Key("save", "save", "ctrl+s", "Save",
        "save the model back to the file it came from (the bundled or a new model: to the data folder); "
        "training also saves there every 5 minutes"),
    Key("open", "open_picker", "ctrl+o", "Open", "load a checkpoint (replaces the model and its loss history)"),
    Key("open-review-model", "open_review_model", "ctrl+o", "Open",
        "load a sentiment checkpoint (rnntui sentiment train makes them; the picker says each file's task), or "
        "choose a language model of reviews for ctrl+g and ctrl+t",
        title="Open a sentiment model", part=REVIEWS),
    Key("new-model", "new_model", "ctrl+n", "New model",
        "start a new model of the book's size on a text file, or fine-tune the current one on it"),
    Key("reply-settings", "reply_settings", "ctrl+l", "Reply",
        "reply settings: length, scale factor, top-k / top-p (draw from the likeliest only), wrapped lines "
        "joined or as written", title="Reply settings: length, scale factor, top-k, top-p, line breaks"),
    # The rest are off the footer, which is full at 130 columns: in the help screen and the palette.
    Key("training-settings", "training_settings", "f2", "Training settings",
        "training settings: learning rate, batch, window length, dropout, carried state", footer=False),
    Key("copy", "copy_reply", "ctrl+y", "Copy reply",
        "copy the last reply, seed text included, to the clipboard", footer=False),
    Key("chart", "toggle_chart", "ctrl+b", "Chart",
        f"show / hide the loss chart (hidden at first below {CHART_BELOW} columns)", footer=False, part=APP),
    Key("chart-view", "chart_view", "f8", "Chart view",
        f"the loss chart: the whole run, or its last {RECENT_STEPS:,} steps (shown by itself while a model trains "
        "on from a longer history)", title="Chart: the whole run or the recent steps", footer=False, part=APP),
    # ctrl+e is the input's "end".
    Key("export", "export_transcript", "ctrl+f", "Export to file",
        "save every reply so far, with its settings, to a text file in the data folder", footer=False),
    Key("pick-mode", "toggle_pick", "f3", "Pick mode",
        "pick mode: you choose each next character of a reply from the five likeliest, as in textgenrnn's "
        "interactive mode", footer=False),
    Key("save-as", "save_as", "f4", "Save as",
        "save the model to a file you choose; ctrl+s and the autosave write there from then on", footer=False),
    Key("evaluate", "evaluate", "f5", "Evaluate",
        "exact validation loss of the current weights: one pass over the held-out end of the text, as "
        "rnntui evaluate (about 10 s for the book on 2 cores), then the dynamic evaluation's (a copy that "
        "adapts as it reads); training goes on meanwhile",
        title="Evaluate: exact validation loss on the held-out text", footer=False),
    Key("model-info", "model_info", "f6", "Model info",
        "what the current model is: size, characters, training settings and time, text, losses, how it was "
        "made (as rnntui info)", footer=False),
    Key("reviews", "show_reviews", "f7", "Reviews",
        "the reviews mode: the sentiment of a movie review as you type it (the book's other RNN)",
        title="Reviews: the sentiment of movie reviews", footer=False, part=APP, modes=(CHAT,)),
    Key("add-review", "add_review", "enter", "Add review",
        "add the review to the list with its verdict (it is judged as you type)", part=REVIEWS),
    Key("train-reviews", "toggle_review_training", "ctrl+t", "Train/pause",
        "start / pause training a review model on the movie reviews (the one open if it can resume, else a new "
        "one: of the book's size, or started from a language model of reviews at hand)",
        title="Train a review model", part=REVIEWS),
    Key("write-review", "write_review", "ctrl+g", "Write on",
        "the language model of reviews (rnntui sentiment pretrain) writes on from the review typed, a word at a "
        "time, judged as it goes (again: stop)", title="Write on: the language model continues the review",
        part=REVIEWS),
    Key("save-reviews", "save_review_model", "ctrl+s", "Save", "save the review model in training to its file",
        title="Save the review model", part=REVIEWS),
    Key("chat", "show_chat", "f7", "Chat", "back to the chat with the language model", title="Chat",
        part=APP, modes=(REVIEWS,)),
    Key("quit", "quit", "ctrl+q", "Quit", "quit (asks first if training progress is unsaved)", priority=True,
        palette=False, part=APP),  # Textual's palette has its own Quit
    # Rare enough to need no key of its own.
    Key("clear-chat", "clear_chat", "", "Clear the chat",
        "remove every reply so far from the window (ctrl+f exports them first); the model and its training "
        "are not touched"),
    Key("clear-reviews", "clear_reviews", "", "Clear the reviews", "remove every review from the list",
        part=REVIEWS),
    Key("reviews-data", "choose_reviews_data", "", "Movie reviews to train on",
        "the movie reviews ctrl+t trains on: Stanford's aclImdb_v1.tar.gz or its aclImdb/ folder, remembered "
        "(asked for too when they cannot be downloaded)", part=REVIEWS),
    Key("inside", "inside_network", "", "Inside the network",
        "the model's units ranked by how well they follow a feature of its held-out text (quotes, line "
        "position, ...), and the text coloured by one of them, as rnntui neurons does", modes=BOTH),
)

# Pick mode's answers, before the seed input sees the keys, but only while a reply waits for one
# (the chat's check_action): otherwise digits and space are typed as usual. One line in the help
# screen for all of them, and not commands of the palette.
PICK_KEYS: tuple[Key, ...] = tuple(
    Key(f"pick-{key}", f"pick({number})", key, f"Pick {key}", "", footer=False, priority=True, palette=False)
    for number, key in enumerate(("1", "2", "3", "4", "5"))
) + (Key("pick-draw", "pick(-1)", "space", "Draw", "", footer=False, priority=True, palette=False),)

# Keys that are not the app's bindings (the seed input's, Textual's), for the help screen.
OTHER_HELP = {
    CHAT: (("1 … 5 / space", "in pick mode, while a reply waits: take that candidate / let the model draw"),
           ("up / down", "recall earlier seed texts"), ("ctrl+p", "command palette")),
    REVIEWS: (("ctrl+p", "command palette"),),
}

# The keys of the "Inside the network" view (rnntui.tui.screens.neurons), its own bindings:
# (keys, action, label).
NEURONS_KEYS: tuple[tuple[str, str, str], ...] = (
    ("escape,q", "back", "Close"), ("left", "feature(-1)", "Feature"), ("right", "feature(1)", "Feature"),
    ("up", "unit(-1)", "Unit"), ("down", "unit(1)", "Unit"), ("a", "switch_off", "Switch off"),
    ("s", "step", "Look at one step"), ("ctrl+left", "word(-1)", "Word back"), ("ctrl+right", "word(1)", "Word on"),
    ("m", "mark", "Mark a span"), ("x", "mark_unit", "Mark the unit to switch off"),
    ("slash", "regex", "Find by a regular expression"), ("r", "review", "The review model"),
    # A function key: the review view's input has the focus, and takes letters.
    ("f9", "sentiment_neuron", "The sentiment neuron"),
)

# Where even compact keys do not fit (80 columns), these leave the footer first: each is in the
# help screen and the palette, and Reply and New model are the least used.
FOOTER_DROP_FIRST = ("reply_settings", "new_model", "regenerate", "open_picker", "help")


def binding(key: Key) -> Binding:
    return Binding(key.keys, key.action, key.label, show=key.footer, group=key.group, priority=key.priority,
                   id=key.id)


def bindings(part: str) -> list[Binding]:
    """The BINDINGS of ``part`` (APP, CHAT or REVIEWS)."""
    return [binding(key) for key in KEYS + PICK_KEYS if key.keys and key.part == part]


# The footer shows the keys of every part in the table's order (rnntui.tui.app.MainScreen).
KEY_ORDER: tuple[str, ...] = tuple(name for key in KEYS + PICK_KEYS for name in key.keys.split(",") if name)
PICK_KEY_NAMES: frozenset[str] = frozenset(key.keys for key in PICK_KEYS)


def help_rows(mode: str = CHAT) -> list[tuple[str, str]]:
    """(keys, what they do) in ``mode`` for the help screen: the table's keys, "this help" last,
    then the keys of pick mode, the seed input and Textual."""
    bound = sorted((key for key in KEYS if key.keys and mode in key.modes), key=lambda key: key.action == "help")
    return [(key.keys.replace(",", " / "), key.help) for key in bound] + list(OTHER_HELP[mode])


def palette_commands(mode: str = CHAT) -> list[Key]:
    """The table's rows that are commands of the palette in ``mode``, in its order."""
    return [key for key in KEYS if key.palette and mode in key.modes]


# The actions of each mode (a key's action runs only in the modes its row names).
ACTIONS = {mode: frozenset(key.action.split("(")[0] for key in KEYS + PICK_KEYS if mode in key.modes)
           for mode in BOTH}
ALL_ACTIONS = ACTIONS[CHAT] | ACTIONS[REVIEWS]
