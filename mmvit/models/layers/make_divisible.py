def make_divisible(value: float, divisor: int = 8, min_value: int = None) -> int:
    """Round ``value`` to the nearest multiple of ``divisor`` (never below
    ``min_value``, default ``divisor``) without going down by more than 10 %,
    as MobileNetV2 and ml-cvnets size their hidden layers."""
    min_value = divisor if min_value is None else min_value
    new_value = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if new_value < 0.9 * value:
        new_value += divisor
    return new_value
