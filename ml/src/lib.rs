//! Audio features and the 5-class ambient-sound embedding model.

pub mod clip;
pub mod decode;
pub mod error;
pub mod features;
pub mod resample;

pub use error::{Error, Result};
