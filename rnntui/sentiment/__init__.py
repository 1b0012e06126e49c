"""Sentiment of movie reviews: the chapter's first project, a many-to-one LSTM on IMDb reviews
(Maas et al. 2011). The engine only, no UI: ``reviews`` reads the dataset, ``tokens`` turns a
review into word ids as the book does. The model, training, CLI and app mode are still to come
(issue #22)."""
