"""What the app's pilot tests share: making the app, waiting for it, pressing keys while it is busy,
and reading its notifications."""
from __future__ import annotations

from pathlib import Path

from textual import events

from rnntui.tui.app import RnntuiApp
from rnntui.tui.widgets.transcript import Exchange
from tests.helpers import TINY_MODEL, tiny_train_config

SIZE = (120, 36)


def join_wrapped_lines(tmp_path) -> None:
    """The person's ctrl+l choice, kept in the data folder: replies join wrapped lines (the tiny
    test text is not hard-wrapped prose, so by default its replies keep their line breaks)."""
    settings = tmp_path / "data" / "settings.json"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text('{"reflow": true}', encoding="utf-8")


def make_app(checkpoint=None, corpus=None, **kwargs) -> RnntuiApp:
    return RnntuiApp(checkpoint=checkpoint, corpus=corpus, random_seed=1, train_config=tiny_train_config(),
                     model_options=TINY_MODEL, **kwargs)


async def until(pilot, condition, timeout: float = 20.0) -> None:
    """Let the app run until ``condition()`` holds (workers report through messages)."""
    for _ in range(int(timeout / 0.02)):
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError("condition not reached in time")


async def busy_press(pilot, *keys: str) -> None:
    """Press keys while a worker keeps the process busy: Pilot.press waits until the process
    is idle (up to a second a key), so send the keys as a terminal would and move on."""
    for key in keys:
        pilot.app.post_message(events.Key(key, key if len(key) == 1 else None))
        await pilot.pause(0.02)


async def pause_training(pilot) -> int:
    """Press ctrl+t on a running training and wait until it has really stopped (the step in
    flight finishes first); the step it stopped at."""
    app = pilot.app
    before = len(notifications(app))
    await busy_press(pilot, "ctrl+t")
    await until(pilot, lambda: any("Training paused" in n.message for n in notifications(app)[before:]))
    return app.chat.session.step


async def train_to(pilot, step: int) -> None:
    """Press ctrl+t and let the model train to at least ``step``."""
    await busy_press(pilot, "ctrl+t")
    await until(pilot, lambda: pilot.app.chat.session.step >= step)


async def ready(pilot) -> None:
    await until(pilot, lambda: pilot.app.chat.info is not None)


async def shown(pilot, screen_type, selector: str) -> None:
    """Wait until a pushed screen is up with ``selector`` in it: on a busy app a screen can be
    current a moment before its widgets are mounted."""
    await until(pilot, lambda: isinstance(pilot.app.screen, screen_type) and pilot.app.screen.query(selector))


async def finished(pilot) -> None:
    await until(pilot, lambda: not pilot.app.chat.streaming)
    await pilot.pause()


def exchanges(app) -> list[Exchange]:
    return list(app.chat.exchanges.values())


def joined(text: str) -> str:
    """``text`` as a reply shows it by default: each line break with text on both sides is a
    space (a wrap inside a paragraph); one next to another (a blank line) stays."""
    return "".join(" " if char == "\n" and 0 < i and text[i - 1] != "\n" and text[i + 1:i + 2] != "\n"
                   else char for i, char in enumerate(text))



def notifications(app) -> list:
    """The notifications the app has shown so far, oldest first (Textual keeps them in a private
    list; this is the one place the tests read it)."""
    return list(app._notifications)


def messages(app) -> list[str]:
    return [n.message for n in notifications(app)]


def notified(app, text: str) -> bool:
    """Some notification so far says ``text``."""
    return any(text in str(n.message) for n in notifications(app))


async def new_model_on(pilot, text: Path) -> None:
    """ctrl+n, the text's path, enter; until the new model is the app's."""
    from rnntui.tui.screens.dialogs import NewModelScreen

    app = pilot.app
    await pilot.press("ctrl+n")
    await shown(pilot, NewModelScreen, "#corpus-path")
    app.screen.query_one("#corpus-path").value = str(text)
    await pilot.press("enter")
    await until(pilot, lambda: app.chat.info is not None and text.name in app.chat.info.name)
