//! TODO(skeleton): filled by the forms work.
