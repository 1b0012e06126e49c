"""Completes a typed path from the file system, as a shell would (accept with the right arrow)."""

from __future__ import annotations

import os
from pathlib import Path

from textual.suggester import Suggester


class PathSuggester(Suggester):
    """Suggests the first entry of the typed folder that starts with the typed name; a folder
    gets a trailing separator, so the next suggestion continues inside it."""

    def __init__(self) -> None:
        # No cache: the folder's contents change (a checkpoint gets saved, a file appears).
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        if not value:
            return None
        folder_part, _, name = value.rpartition(os.sep)
        folder = Path(os.path.expanduser(folder_part + os.sep if os.sep in value else "."))
        try:
            # Hidden entries only when a dot is typed, as shells do.
            entries = [entry for entry in os.scandir(folder) if entry.name.startswith(name)
                       and (name.startswith(".") or not entry.name.startswith("."))]
        except OSError:
            return None
        for entry in sorted(entries, key=lambda e: e.name):
            is_dir = entry.is_dir()
            if entry.name == name and not is_dir:
                continue  # already complete
            return value[: len(value) - len(name)] + entry.name + (os.sep if is_dir else "")
        return None
