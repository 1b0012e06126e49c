"""The chat: replies to seed texts, streamed as the model writes them."""

from rnntui.tui.chat.pane import ChatPane, next_scale

__all__ = ["ChatPane", "next_scale"]
