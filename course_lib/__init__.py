"""Companion package of the course "GANs, autoencoders and masked autoencoders".

The package map, by layer. Every module has one line here and in the README (tests/test_package_map.py fails
when a module is missing from either map, or a map names one that does not exist). Model modules import the core
library and the data layer only; nothing in the library imports the recipes or the course tooling.

Core library: what every chapter and run is built from
    losses             GAN losses as pure functions on logits
    train              devices, seeding, bf16 autocast, the step vocabulary (update, frozen, d_step, g_step)
    gan_zoo            chapter 03: one step for every loss of the zoo, regularisers, health diagnostics, seed batches
    checkpoint         atomic save, resume, one clear error for a corrupt, mismatched or unsafe file
    runlog             a JSON-lines metrics log that a resumed run keeps
    loop               the one long-run loop (fit): resume, progress, log, samples, best checkpoint, lr, phases
    distributed        DistributedDataParallel around the same steps (torchrun)
    scale              COURSE_SCALE=smoke|small|full presets: numbers only, never a different code path
    errors             the errors a user can fix, printed by the command line as one line
    paths              where the repository is (the default data root and runs folder)
    plotting           image grids, curves, 2-D samples, data-flow diagrams

Models: one self-contained module per model family (networks, their step and loss)
    models/aae         autoencoders and the adversarial autoencoder (chapter 04)
    models/blocks      the ResNet blocks SNGAN and SAGAN share, and the one spectral-norm helper
    models/anogan      anomaly detection with a GAN: latent search, izi_f encoder, MAE scores (chapter 12)
    models/dcgan       DCGAN, each architecture guideline switchable (chapter 02)
    models/graphgan    GraphGAN: node embeddings from a generator of neighbours (chapter 13)
    models/mae         the masked autoencoder, ViT encoder and decoder (chapter 07)
    models/mae_gan     the adversarial MAE, and the MAE decoder as a GAN generator (chapter 08)
    models/mlp         the MLP generator and discriminator of the original GAN (chapter 01)
    models/musegan     MuseGAN: multi-track piano rolls as a WGAN-GP (chapter 11)
    models/pix2pix     Pix2Pix: U-Net and PatchGAN (chapter 09)
    models/resnet_gan  the ResNet generator and discriminator of SNGAN and WGAN-GP (chapter 03)
    models/sagan       Self-Attention GAN (chapter 06)
    models/seqgan      SeqGAN: a sequence generator trained as a policy (chapter 13)
    models/srgan       SRResNet and SRGAN, 4x super-resolution (chapter 10)
    models/vae         the VAE and the VAE-GAN (chapter 05)

Data and metrics
    data               the data root, real datasets, toy distributions
    paired             paired datasets for image-to-image translation (chapter 09)
    sr_data            high- and low-resolution images for super-resolution (chapter 10)
    music              piano rolls, MIDI and a synthesiser (chapter 11)
    priors             priors on a 2-D latent space for the AAE (chapter 04)
    metrics            mode coverage, Fréchet distance, KID, precision / recall
    image_metrics      PSNR, SSIM, NIQE (chapters 09 and 10)
    music_metrics      MuseGAN's objective metrics (chapter 11)
    features           feature networks for the metrics (the course classifier, FID's Inception when present)
    probes             a linear probe and k-NN on a frozen representation (chapter 07)

Recipes: `course train NAME`, one short module each, every one on the one loop (loop.fit)
    recipes/           RECIPES (recipes/__init__.py): the table of `course train`, a plain dict of imported functions
    recipes/options    the options every recipe shares: --scale, --steps, --run-dir, --device, --seed
    recipes/gan        dcgan, sngan, wgan-gp (settings and models in gan_runs)
    recipes/sagan      sagan (chapter 06)
    recipes/aae        aae (chapter 04)
    recipes/vae        vae, vae-gan (chapter 05)
    recipes/mae        mae, mae-finetune (chapter 07; step, schedule and augmentation in mae_run)
    recipes/pix2pix    pix2pix (chapter 09)
    recipes/srgan      srgan (chapter 10)
    recipes/musegan    musegan (chapter 11)
    recipes/anogan     anogan (chapter 12)
    recipes/seqgan     seqgan (chapter 13)
    recipes/classifier  the course classifier behind FD, KID and precision / recall
    gan_runs           the image GANs' settings (ARCHS), models and sampling; `course bench --toy-seeds`
    mae_run            MAE's schedule, AdamW groups, augmentation, MFU denominator, test accuracy
    gpu_check          `course gpu-check` and `course bench`: every recipe's full-size models and step on a device
    bench_cases        each recipe as one timed case: its models at a scale's sizes and one step of its own

Course tooling: the command line, the notebooks and the published course (no torch at import time)
    cli                the `course` command line
    claims             the phenomena a chapter teaches, as checked claims; the numbers its prose cites
    course/book        the manifest, book.toml
    course/notebooks   the jupytext .py source and its .ipynb, citations filled from the record, headless runs
    course/exercises   exercise checks' helpers and solutions; the learner's edition
    course/record      `course verify` and the verified record (results/record.json)
    course/grading     coursework with nbgrader
    course/site        `course book`, the static website (templates in course/site_templates/)
    course/pytest_plugin  smoke scale, offline data, notebook budgets, one execution per notebook in the tests

Checks: the exercise checks the notebooks call
    checks/chNN        one module per chapter, `from course_lib.checks import chNN as check`
"""

__version__ = "0.1.0"
