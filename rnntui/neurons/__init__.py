"""Inside the network: what each unit of a trained model tracks (``find``), its value at each
character or word (``activations``, ``step``), and what switching it off changes (``ablate``);
for the character model and the review model (``sentiment``). Engine only: the CLI and the app
are clients of it."""
