"""The Streamlit app's shared code: the only part of excolor that imports streamlit.

One concern per module: `training` (what pages call to get trained models, with honest progress), `trainer` (the
training queue and its one worker: priorities, chunks, turns, caps) with `jobs` (what the queue holds and how long
it takes), `caches` (process-wide evaluations, figures and decks), `urlstate` (controls mirrored in the URL),
`visitor` (this visitor's seed and schedule), `downloads` (files generated on click), `shell` (what every page
draws first: page setup, menu, sidebar, training status) and `warmup` (the server's start). Pages import these;
they never call the trainer or compute science themselves.
"""
