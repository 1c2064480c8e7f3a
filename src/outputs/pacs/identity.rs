//! The identity rules (placeholder until the identity work lands).
