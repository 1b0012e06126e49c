"""The reviews mode: the sentiment of movie reviews, judged as you type."""

from rnntui.tui.reviews.pane import ReviewsPane

__all__ = ["ReviewsPane"]
