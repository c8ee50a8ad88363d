"""mmvit datasets, samplers and transforms."""
