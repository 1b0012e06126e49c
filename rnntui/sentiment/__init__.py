"""Sentiment of movie reviews: the chapter's first project, a many-to-one LSTM on IMDb reviews
(Maas et al. 2011). The engine only, no UI: ``reviews`` reads the dataset, ``tokens`` turns a
review into word ids as the book does, ``model`` is the book's network with its batches. The
trainer, checkpoints, CLI, app mode and a bundled model are still to come (issue #22)."""
