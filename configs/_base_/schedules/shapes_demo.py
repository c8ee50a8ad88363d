# The schedule shared by the three stages of the embedded demo
# (tools/demo.py): the paper recipes' optimiser (AdamW, weight decay 0.01 on
# every parameter), linear warm-up and per-epoch cosine, squeezed into a few
# hundred iterations on one CPU process.
#
# A demo config lists this file among its bases and builds its schedule from
# `_base_.shapes_demo`. The pieces sit under a name of their own because the
# stages differ in what mmengine replaces as a whole (lists) or computes in a
# base (the cosine's end, from each stage's `max_epochs`), and because the
# pretraining stage inherits its ImageNet config, whose schedule keys a base
# may not define a second time (mmengine refuses a key that two bases both
# define). Each config writes its lists with what it alone has: the end of
# the cosine (`max_epochs`), its floor (`eta_min` or `eta_min_ratio`) and its
# extra hooks.
shapes_demo = dict(
    optim_wrapper=dict(
        type='OptimWrapper',
        optimizer=dict(
            type='AdamW', lr=2e-3, betas=(0.9, 0.999), weight_decay=0.01)),
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
