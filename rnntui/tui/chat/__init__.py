"""The chat: replies to seed texts, streamed as the model writes them."""

from rnntui.tui.chat.drawing import next_scale
from rnntui.tui.chat.pane import ChatPane

__all__ = ["ChatPane", "next_scale"]
