//! Reads [super::ImageAttributes] from a data set (PS3.3 C.7.6.3, C.11.1, C.11.2).
