"""Short reviews whose verdict turns on a negation, a contrast or sarcasm: what a reader gets at
once and a bag of words gets wrong. Written before any model started from a language model was
trained, and kept fixed, so that models are compared on the same sentences
(``benchmarks/short_reviews.py`` counts how many each gets right). 1: positive, 0: negative."""

SHORT_REVIEWS = [
    ("Not bad at all.", 1),
    ("I did not hate it.", 1),
    ("Not a bad film.", 1),
    ("It was not boring for a second.", 1),
    ("I can't say I was disappointed.", 1),
    ("Nothing about it was dull.", 1),
    ("Never a dull moment.", 1),
    ("I expected to hate it, but I loved it.", 1),
    ("Not the disaster the critics promised.", 1),
    ("I was not bored at all.", 1),
    ("No complaints from me.", 1),
    ("The first hour is slow, but the ending is wonderful.", 1),
    ("Not good.", 0),
    ("I did not like it.", 0),
    ("Not worth the ticket.", 0),
    ("It was not funny at all.", 0),
    ("Truly a masterpiece of boredom.", 0),
    ("I wanted to love it, but I couldn't.", 0),
    ("Not a single good scene.", 0),
    ("The actors are great, but the film is not.", 0),
    ("Hardly entertaining.", 0),
    ("Not as good as I hoped.", 0),
    ("I would not recommend it.", 0),
    ("A great cast wasted on a terrible script.", 0),
]
