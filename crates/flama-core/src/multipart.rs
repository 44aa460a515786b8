//! TODO(skeleton): filled by the multipart work.
