"""The Textual app. A thin client of the engine: it imports torch only in worker threads."""
