"""MultiScaleVariableBatchSampler: scale table, plans, sharding, length."""
import contextlib
import importlib
from collections import Counter

import mmengine.dataset.sampler as mmengine_sampler
import pytest
from mmengine.dataset import DefaultSampler, InfiniteSampler
from mmengine.registry import DATA_SAMPLERS as ROOT_DATA_SAMPLERS
from mmengine.registry import DefaultScope

from mmvit.datasets.multiscale import (MultiScaleVariableBatchSampler,
                                     ScaleBatch, build_scale_table,
                                     min_batches_for)

IMAGENET_TABLE = [(160, 160, 327), (192, 192, 227), (256, 256, 128),
                  (288, 288, 101), (320, 320, 81)]


class SizedIndexDataset:
    """Stands in for MultiScaleDataset: only its length matters here."""

    accepts_sized_indices = True

    def __init__(self, length):
        self.length = length

    def __len__(self):
        return self.length


def make_sampler(length,
                 rank=0,
                 world_size=1,
                 seed=7,
                 round_up=True,
                 **kwargs):
    """A batch sampler over DefaultSampler as rank ``rank`` of a group."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(mmengine_sampler, 'get_dist_info', lambda:
                      (rank, world_size))
        sampler = DefaultSampler(
            SizedIndexDataset(length),
            shuffle=True,
            seed=seed,
            round_up=round_up)
    kwargs.setdefault('batch_size', 128)
    return MultiScaleVariableBatchSampler(sampler=sampler, **kwargs)


def epoch_batches(batch_sampler, epoch):
    batch_sampler.sampler.set_epoch(epoch)  # what mmengine's hooks call
    return list(batch_sampler)


# ----------------------------------------------------------------- the table
def test_table_matches_the_authors_imagenet_table():
    table = build_scale_table(
        base_size=256,
        batch_size=128,
        min_size=160,
        max_size=320,
        num_scales=5)
    assert [tuple(row) for row in table] == IMAGENET_TABLE
    assert all(isinstance(row, ScaleBatch) for row in table)
    # the reference size keeps the reference batch; pixels stay within budget
    assert ScaleBatch(256, 256, 128) in table
    for row in table:
        assert row.height * row.width * row.batch_size <= 256 * 256 * 128


def test_paper_era_table_keeps_the_reference_batch_for_large_sizes():
    # ml-cvnets v0.1 on 8 GPUs: max(b, b_t), rounded to a multiple of 8
    table = build_scale_table(
        256, 128, 160, 320, clamp_to_base_batch=True, batch_size_divisor=8)
    assert [tuple(row) for row in table] == [(160, 160, 328), (192, 192, 224),
                                             (256, 256, 128), (288, 288, 128),
                                             (320, 320, 128)]
    assert all(row.batch_size >= 128 for row in table)


def test_non_square_range_keeps_height_width_pairing():
    table = build_scale_table((256, 192), 128, (160, 128), (320, 256))
    assert [(r.height, r.width) for r in table] == [(160, 128), (192, 160),
                                                    (256, 192), (288, 224),
                                                    (320, 256)]
    assert table[2].batch_size == 128
    assert table[0].batch_size == int(256 * 192 * 128 / (160 * 128))


def test_reference_size_outside_the_range_is_added():
    table = build_scale_table(224, 64, 256, 320, num_scales=3)
    assert [r.height for r in table] == [224, 256, 288, 320]
    assert table[0].batch_size == 64


def test_batch_size_never_drops_below_one():
    table = build_scale_table(32, 1, 32, 320, num_scales=2)
    assert [tuple(r) for r in table] == [(32, 32, 1), (320, 320, 1)]


@pytest.mark.parametrize('kwargs, message', [
    (dict(min_size=320, max_size=160), 'min_size must not exceed'),
    (dict(min_size=(160, 300), max_size=(320, 200)), 'width range'),
    (dict(min_size=100, max_size=120), 'no multiple of size_divisor'),
    (dict(base_size=250), 'multiple of size_divisor=32'),
    (dict(batch_size=0), 'batch_size must be a positive int'),
    (dict(batch_size=2.5), 'batch_size must be a positive int'),
    (dict(num_scales=0), 'num_scales must be a positive int'),
    (dict(size_divisor=0), 'size_divisor must be a positive int'),
    (dict(min_size=-32), 'min_size must be positive'),
    (dict(max_size=(320, 320, 3)), 'max_size must be an int or'),
])
def test_bad_table_arguments_raise_clear_errors(kwargs, message):
    args = dict(base_size=256, batch_size=128, min_size=160, max_size=320)
    args.update(kwargs)
    with pytest.raises((ValueError, TypeError), match=message):
        build_scale_table(**args)


def test_min_batches_for_is_the_smallest_plan_that_always_fits():
    sizes = [327, 227, 128, 101, 81]
    for num_samples in [1, 81, 82, 864, 865, 2000, 160146]:
        k = min_batches_for(num_samples, sizes)
        q, r = divmod(k, len(sizes))
        assert q * sum(sizes) + sum(sorted(sizes)[:r]) >= num_samples
        q, r = divmod(k - 1, len(sizes))
        assert q * sum(sizes) + sum(sorted(sizes)[:r]) < num_samples


# --------------------------------------------------------------- the sampler
def test_plan_is_identical_on_two_ranks_and_differs_across_epochs():
    ranks = [make_sampler(1000, rank=r, world_size=2) for r in range(2)]
    assert len(ranks[0]) == len(ranks[1])
    plans = {}
    for epoch in range(3):
        batches = [epoch_batches(s, epoch) for s in ranks]
        sizes = [[(b[0].height, b[0].width, len(b)) for b in rank_batches]
                 for rank_batches in batches]
        assert sizes[0] == sizes[1]
        assert sizes[0] == [tuple(row) for row in ranks[0].plan(epoch)]
        plans[epoch] = sizes[0]
    assert plans[0] != plans[1] != plans[2]


def test_plan_depends_on_the_runner_seed():
    a, b, c = (make_sampler(1000, seed=s) for s in (1, 1, 2))
    assert a.plan(0) == b.plan(0)
    assert a.plan(0) != c.plan(0)


def test_two_ranks_get_disjoint_shards_that_cover_the_dataset():
    ranks = [make_sampler(1000, rank=r, world_size=2) for r in range(2)]
    seen = [{i.index
             for batch in epoch_batches(s, 4)
             for i in batch} for s in ranks]
    assert seen[0].isdisjoint(seen[1])
    assert seen[0] | seen[1] == set(range(1000))


@pytest.mark.parametrize('round_up', [True, False])
@pytest.mark.parametrize('length', [4, 7, 333, 1001])
def test_uneven_dataset_is_covered_with_equal_lengths(length, round_up):
    ranks = [
        make_sampler(
            length,
            rank=r,
            world_size=3,
            round_up=round_up,
            batch_size=16,
            base_size=64,
            min_size=32,
            max_size=96,
            num_scales=3) for r in range(3)
    ]
    assert len({len(s) for s in ranks}) == 1
    union = set()
    for s in ranks:
        batches = epoch_batches(s, 1)
        assert len(batches) == len(s)
        union |= {i.index for batch in batches for i in batch}
    assert union == set(range(length))


@pytest.mark.parametrize('length', [1, 5, 80, 81, 82, 500, 4321])
def test_len_is_the_number_of_batches_yielded_every_epoch(length):
    sampler = make_sampler(length)
    for epoch in range(4):
        batches = epoch_batches(sampler, epoch)
        assert len(batches) == len(sampler)
        # every sample at least once; repeats only fill the spare capacity
        counts = Counter(i.index for batch in batches for i in batch)
        assert set(counts) == set(range(length))
        capacity = sum(row.batch_size for row in sampler.plan(epoch))
        assert sum(counts.values()) == capacity
        assert max(counts.values()) <= -(-capacity // length)


def test_batches_follow_the_plan_and_tag_every_index():
    sampler = make_sampler(5000)
    batches = epoch_batches(sampler, 2)
    for batch, row in zip(batches, sampler.plan(2)):
        assert len(batch) == row.batch_size
        assert {(i.height, i.width)
                for i in batch} == {(row.height, row.width)}
        assert all(tuple(i) == (row.height, row.width, i.index) for i in batch)


def test_balanced_plan_uses_each_scale_equally_often():
    sampler = make_sampler(20000)
    counts = Counter((r.height, r.width) for r in sampler.plan(0))
    assert set(counts) == {(h, w) for h, w, _ in IMAGENET_TABLE}
    assert max(counts.values()) - min(counts.values()) <= 1


def test_epoch_steps_follow_the_pixel_budget():
    # ImageNet-1k on 8 ranks: ~0.74x the optimizer steps of batch 128
    per_rank = -(-1281167 // 8)
    sampler = make_sampler(per_rank)
    fixed_steps = -(-per_rank // 128)
    assert len(sampler) / fixed_steps == pytest.approx(
        5 * 128 / sum(b for *_, b in IMAGENET_TABLE), abs=0.002)


def test_tiny_dataset_caps_batches_at_the_rank_share():
    sampler = make_sampler(10)
    assert len(sampler) == 1
    (batch, ) = epoch_batches(sampler, 0)
    assert sorted(i.index for i in batch) == list(range(10))


def test_a_rank_without_samples_is_an_error():
    with pytest.raises(ValueError, match='fewer samples than ranks'):
        make_sampler(1, rank=1, world_size=2, round_up=False)


def test_spare_capacity_is_negligible_at_imagenet_scale():
    sampler = make_sampler(-(-1281167 // 8))
    spare = sum(row.batch_size for row in sampler.plan(0)) - 160146
    assert 0 <= spare < 0.005 * 160146


def test_infinite_sampler_gets_a_new_plan_every_pass():
    # iteration-based loops re-iterate the dataloader; InfiniteSampler has
    # no epoch, so the pass count seeds the plan
    sampler = InfiniteSampler(SizedIndexDataset(3000), seed=1)
    batch_sampler = MultiScaleVariableBatchSampler(sampler, batch_size=128)
    passes = [list(batch_sampler) for _ in range(3)]
    assert all(len(p) == len(batch_sampler) for p in passes)
    sizes = [[(b[0].height, len(b)) for b in p] for p in passes]
    assert sizes[0] != sizes[1] != sizes[2]
    assert sizes[1] == [(r.height, r.batch_size)
                        for r in batch_sampler.plan(1)]


def test_set_epoch_on_the_batch_sampler_reaches_the_wrapped_sampler():
    sampler = make_sampler(100)
    sampler.set_epoch(5)
    assert sampler.sampler.epoch == 5 and sampler.epoch == 5


def test_refuses_a_dataset_that_cannot_read_sized_indices():
    sampler = DefaultSampler(list(range(10)), seed=0)
    with pytest.raises(TypeError, match='mmvit.MultiScaleDataset'):
        MultiScaleVariableBatchSampler(sampler, batch_size=4)


def test_refuses_an_unsized_sampler():
    with pytest.raises(TypeError, match='sized index sampler'):
        MultiScaleVariableBatchSampler(iter(range(4)), batch_size=4)


@pytest.mark.parametrize('scope', [None, 'mmpretrain', 'mmdet', 'mmseg'])
def test_runner_builds_it_from_the_root_registry_under_every_scope(scope):
    """As Runner.build_dataloader does: mmengine's root DATA_SAMPLERS,
    the config's default scope, ``sampler=`` and ``batch_size=``."""
    if scope is not None:
        importlib.import_module(f'{scope}.registry')
    sampler = DefaultSampler(SizedIndexDataset(100), seed=0)
    cfg = dict(
        type='mmvit.MultiScaleVariableBatchSampler',
        base_size=64,
        min_size=32,
        max_size=96,
        num_scales=3)
    context = (
        DefaultScope.overwrite_default_scope(scope)
        if scope else contextlib.nullcontext())
    with context:
        built = ROOT_DATA_SAMPLERS.build(
            cfg, default_args=dict(sampler=sampler, batch_size=8))
    assert isinstance(built, MultiScaleVariableBatchSampler)
    assert built.sampler is sampler
    assert [tuple(r) for r in built.scale_table] == [(32, 32, 32), (64, 64, 8),
                                                     (96, 96, 3)]
