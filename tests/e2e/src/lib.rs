//! The local mail world, started and stopped for end-to-end tests.
