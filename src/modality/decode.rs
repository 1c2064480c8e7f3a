//! Pixel Data, native or encapsulated, to [super::StoredFrame]s, frame by frame.
