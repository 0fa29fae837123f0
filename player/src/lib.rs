//! The player device program (in progress).
