"""Sentiment of movie reviews: the chapter's first project, a many-to-one LSTM on IMDb reviews
(Maas et al. 2011). The engine only, no UI: ``reviews`` reads the dataset, ``tokens`` turns a
review into word ids as the book does, ``model`` is the book's network with its batches,
``train`` / ``trainers`` train it, ``checkpoint`` saves and checks it; ``lm`` and its siblings are
the language model of reviews a classifier can start from (``rnntui sentiment pretrain``)."""
