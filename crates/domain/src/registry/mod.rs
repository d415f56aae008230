//! The shared base registries (基础库): people, households, legal entities, buildings,
//! houses and addresses.
//!
//! Records here are plain data built from validated identifiers. Each kind has a *draft*
//! (what a form, an API body or an import row carries: loose strings) and a record (what
//! the registries hold). `validate` turns a draft into a record or into a list of
//! [`FieldError`]s that name every wrong field, so the API, the import and the generator
//! share one set of rules. This module must not know about storage or HTTP.

mod address;
mod entity;
mod field_error;
mod house;
mod household;
mod person;

pub use address::{Address, GeoPoint};
pub use entity::{EntityDraft, EntityKind, EntityStatus, LegalEntity};
pub use field_error::FieldError;
pub use house::{Building, House, HouseDraft, HouseUse, RentalState};
pub use household::{
    Household, HouseholdDraft, HouseholdKind, HouseholdMember, HouseholdMemberDraft, Relationship,
};
pub use person::{Ethnicity, LifeStatus, Person, PersonDraft, PersonTag};
