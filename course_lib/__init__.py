"""Companion package of the course "GANs, autoencoders and masked autoencoders".

Modules, one idea each:
    scale      -- COURSE_SCALE=smoke|small|full presets (numbers only, never a different code path)
    book       -- the course manifest, book.toml
    data       -- data root, real datasets, toy distributions, paired / derived datasets
    losses     -- GAN losses as pure functions on logits
    train      -- device/dtype, seeding, the D step and the G step, a full-scale training loop
    checkpoint -- atomic save, resume, clear errors on corrupt or mismatched files
    metrics    -- evaluation (mode coverage on toy data, ...)
    plotting   -- image grids, loss curves, 2-D samples over a density
    runlog     -- a small JSON-lines metrics log
    exercises  -- automatic checks for the notebooks' exercises, and the learner's edition
    models/    -- one self-contained module per model family
"""

__version__ = "0.1.0"
