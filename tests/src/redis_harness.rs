//! Starts real `redis-server` processes for tests.
