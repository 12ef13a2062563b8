package sample

// NewSeeded returns a Sampler with a given seed, for the tests.
func NewSeeded(cfg Config, seed [SeedSize]byte) (*Sampler, error) { return newSeeded(cfg, seed) }
