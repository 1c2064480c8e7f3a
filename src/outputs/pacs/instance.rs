//! The instances a job becomes (placeholder until the instance work lands).
