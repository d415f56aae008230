//! Huimin's domain: the pure rules of the city's shared base registries.
//!
//! This crate owns the national identifiers, the registry records (people, households,
//! legal entities, buildings, houses, addresses, the area tree), provenance, and the
//! storage traits that the `store` crate implements. It must not do I/O: no database, no
//! network, no files read at run time, no clock. Callers pass `now` and `today` in; data
//! tables (GB/T 2260) are compiled in. `xtask tidy` fails when tokio, sqlx, axum or
//! reqwest appears among this crate's normal dependencies.

pub mod access;
pub mod area;
pub mod audit;
pub mod calendar;
pub mod case;
pub mod catalogue;
pub mod dataset;
pub mod dispute;
pub mod facility;
pub mod identifiers;
pub mod identity;
pub mod knowledge;
pub mod merkle;
pub mod oidc;
pub mod provenance;
pub mod registry;
pub mod rental;
pub mod search;
pub mod sharing;
pub mod storage;
pub mod subscription;
pub mod time;
