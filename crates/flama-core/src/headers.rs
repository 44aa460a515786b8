//! TODO(skeleton): filled by the headers work.
