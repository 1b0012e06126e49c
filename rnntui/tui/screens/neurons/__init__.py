"""The app's view of the network's inside (the palette's "Inside the network")."""

from rnntui.tui.screens.neurons.screen import NeuronsScreen

__all__ = ["NeuronsScreen"]
