//! JSON writing primitives shared by the Python encoder binding: string escaping and number formatting.
