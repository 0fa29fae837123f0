//! Audio features and the 5-class ambient-sound embedding model.

pub mod clip;
pub mod cv;
pub mod dataset;
pub mod decode;
pub mod error;
pub mod features;
pub mod model;
mod parallel;
pub mod resample;
pub mod ridge;
pub mod train;

pub use error::{Error, Result};
pub use model::{Embedding, Model, CLASSES};
