//! Model providers (contract stub).
