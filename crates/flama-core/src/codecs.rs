//! TODO(skeleton): filled by the codecs work.
