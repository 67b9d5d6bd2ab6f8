//! Wire codecs for request bodies.

pub mod protobuf;
