//! Tool execution (contract stub).
