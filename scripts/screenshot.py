"""Regenerate assets/screenshot.svg: the app with the bundled model, after one exchange.

    python scripts/screenshot.py
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from rnntui.tui.app import RnntuiApp

ROOT = Path(__file__).resolve().parents[1]


async def shoot() -> None:
    app = RnntuiApp(random_seed=7, scale_factor=2.0, length=400)
    async with app.run_test(size=(130, 40)) as pilot:
        while app.info is None:
            await pilot.pause(0.1)
        await pilot.press(*"The island", "enter")
        while app.chat.streaming:
            await pilot.pause(0.1)
        await pilot.pause(0.5)
        app.save_screenshot(str(ROOT / "assets" / "screenshot.svg"))
    print("wrote assets/screenshot.svg")


if __name__ == "__main__":
    asyncio.run(shoot())
