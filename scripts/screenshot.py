"""Regenerate the app's pictures: assets/screenshot.svg (the bundled model after one exchange)
and assets/inside-the-network.svg (the palette's *Inside the network* on the bundled model: the
units that follow quotes, and a text coloured by the first).

    python scripts/screenshot.py

The second picture's text is the bundled model's own writing (100,000 characters sampled at
scale factor 1, random seed 1), not the book: the repository holds no part of the novel.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from rnntui.tui.app import RnntuiApp

ROOT = Path(__file__).resolve().parents[1]


async def shoot_chat() -> None:
    app = RnntuiApp(random_seed=7, scale_factor=2.0, length=400)
    async with app.run_test(size=(130, 40)) as pilot:
        while app.chat.info is None:
            await pilot.pause(0.1)
        await pilot.press(*"The island", "enter")
        while app.chat.streaming:
            await pilot.pause(0.1)
        await pilot.pause(0.5)
        app.save_screenshot(str(ROOT / "assets" / "screenshot.svg"))
    print("wrote assets/screenshot.svg")


def model_writing(path: Path, length: int = 100_000) -> Path:
    """``length`` characters the bundled model writes after "The island", in ``path``."""
    from rnntui.charlm.checkpoint import load_checkpoint
    from rnntui.charlm.sampling import Sampler
    from rnntui.core.paths import bundled_model_path

    checkpoint = load_checkpoint(bundled_model_path())
    sampler = Sampler(checkpoint.build_model(), checkpoint.vocab, 1.0, random_seed=1)
    path.write_text("The island" + "".join(s.char for s in sampler.stream("The island", length)), encoding="utf-8")
    return path


async def shoot_inside() -> None:
    import tempfile

    from rnntui.core.paths import bundled_model_path

    with tempfile.TemporaryDirectory() as folder:
        text = model_writing(Path(folder) / "the-model-writes.txt")
        await shoot_inside_on(text, bundled_model_path())


async def shoot_inside_on(text: Path, checkpoint: Path) -> None:
    from rnntui.tui.screens.neurons import NeuronsScreen

    app = RnntuiApp(checkpoint=checkpoint, corpus=text)
    async with app.run_test(size=(120, 36)) as pilot:
        while app.chat.info is None:
            await pilot.pause(0.1)
        app.chat.action_inside_network()
        while not (isinstance(app.screen, NeuronsScreen) and app.screen.reading is not None):
            await pilot.pause(0.2)
        await pilot.pause(1.0)
        app.save_screenshot(str(ROOT / "assets" / "inside-the-network.svg"))
    print("wrote assets/inside-the-network.svg")


if __name__ == "__main__":
    asyncio.run(shoot_chat())
    asyncio.run(shoot_inside())
