"""Companion package of the course "GANs, autoencoders and masked autoencoders".

The package in three layers (a test keeps this map true: every module is named here, and nothing else is).

The library: what the chapters teach, usable on its own
    losses         GAN losses as pure functions on logits
    train          devices, seeding, the step vocabulary (d_step, g_step, frozen) and train_gan
    loop           the one long-run loop (fit): resume, progress, log, samples, best checkpoint, lr, phases
    gan_zoo        chapter 03: one step for every loss of the zoo, regularisers, health diagnostics, seed batches
    checkpoint     atomic save, resume, one clear error for a corrupt, mismatched or unsafe file
    runlog         a JSON-lines metrics log that a resumed run keeps
    distributed    DistributedDataParallel around the same steps (torchrun)
    scale          COURSE_SCALE=smoke|small|full presets: numbers only, never a different code path
    errors         the errors a user can fix, printed by the command line as one line
    data           the data root, real datasets, toy distributions
    paired         paired datasets for image-to-image translation (chapter 09)
    sr_data        high- and low-resolution images for super-resolution (chapter 10)
    music          piano rolls, MIDI and a synthesiser (chapter 11)
    priors         priors on a 2-D latent space for the AAE (chapter 04)
    metrics        mode coverage, Fréchet distance, KID, precision / recall
    image_metrics  PSNR, SSIM, NIQE (chapters 09 and 10)
    music_metrics  MuseGAN's objective metrics (chapter 11)
    features       feature networks for the metrics (the course classifier, FID's Inception when present)
    probes         a linear probe and k-NN on a frozen representation (chapter 07)
    plotting       image grids, curves, 2-D samples, data-flow diagrams
    models/        one self-contained module per model family: aae, anogan, dcgan, graphgan, mae, mae_gan,
                   mlp, musegan, pix2pix, resnet_gan, sagan, seqgan, srgan, vae

The recipes: `course train NAME`, full-scale runs of the same steps
    recipes/       one module per recipe on loop.fit, shared options in recipes/options.py, the table RECIPES
    gan_runs       the image GANs' settings and models (dcgan, sngan, wgan-gp), and `course bench`
    mae_run        MAE's step, schedule, augmentation and MFU denominator (mae, mae-finetune)

The course tooling: the notebooks, their checks and the published course
    book           the manifest, book.toml
    cli            the `course` command line
    notebooks      the jupytext .py source and its .ipynb, citations filled from the record
    exercises      exercise checks' helpers and solutions; the learner's edition
    checks/        one module of exercise checks per chapter (course_lib.checks.chNN)
    claims         the phenomena a chapter teaches, as checked claims; the numbers its prose cites
    record         `course verify` and the verified record (results/record.json)
    grading        coursework with nbgrader
    site           `course book`, the static website (templates in site_templates/)
    pytest_plugin  smoke scale, offline data, notebook budgets, one execution per notebook in the tests
"""

__version__ = "0.1.0"
