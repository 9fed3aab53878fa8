//! Host-side library of the `greedy` command.
