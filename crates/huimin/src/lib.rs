//! The `huimin` program's library: configuration, the server's start-up and shutdown, the
//! demo city loader, file imports and the replay of case timelines. `main.rs` only parses the command line.
//!
//! This is the one crate that uses `anyhow`; it wires the others together and must not
//! hold business rules (those are in `huimin-domain`) or SQL (in `huimin-store`).

pub mod audit;
pub mod cases;
pub mod config;
pub mod demo;
pub mod import;
pub mod server;
