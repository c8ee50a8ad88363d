# The schedule shared by the three stages of the embedded demo
# (tools/demo.py): each stage's paper recipe (AdamW, warm-up, cosine)
# squeezed into a few hundred iterations on one CPU process.
#
# A demo config lists this file after its recipe's bases and takes the pieces
# from `_base_.shapes_demo`. They sit under a name of their own because
# mmengine refuses a key that two bases both define (the recipe's bases
# define `param_scheduler`, `default_hooks`, ...) and replaces lists as a
# whole; each config writes its lists with what it alone has: the end of the
# cosine (`max_epochs`), its floor (`eta_min` or `eta_min_ratio`) and its
# extra hooks.
shapes_demo = dict(
    optim_wrapper=dict(optimizer=dict(lr=2e-3)),
    # 50 iterations of linear warm-up, then a per-epoch cosine stepped per
    # iteration (add end=max_epochs and the floor)
    warmup=dict(
        type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    cosine=dict(
        type='CosineAnnealingLR',
        by_epoch=True,
        begin=0,
        convert_to_iter_based=True),
    logger=dict(interval=20),
    checkpoint=dict(max_keep_ckpts=1),  # add interval=max_epochs
    check_invalid_loss_hook=dict(type='CheckInvalidLossHook', interval=50),
    # says what a resume retrains
    mid_epoch_resume_hook=dict(type='mmvit.MidEpochResumeHook'),
)
