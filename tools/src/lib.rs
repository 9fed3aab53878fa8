//! Host-side library of the `greedy` command.
pub mod movielens;
