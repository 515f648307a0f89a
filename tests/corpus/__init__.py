"""The bad-input corpus: builders for every case of ``../shared/RELIABILITY.md`` §4 that nbgeo reads."""
