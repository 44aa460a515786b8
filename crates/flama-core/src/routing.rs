//! TODO(skeleton): filled by the routing work.
