//! National identifiers (国家标准标识符) used by the base registries: citizen
//! identity numbers, unified social credit codes, administrative division codes
//! and the codes below them, unit grid codes, mobile phone numbers and names.
//!
//! Every type here is a newtype whose only constructors validate ("parse,
//! don't validate"): holding a [`CitizenId`] *is* the proof that the number is
//! well-formed, so the rest of Huimin never re-checks. Each type has
//! `as_str()`, `Display`, and serde support as its string form, where
//! deserialising goes through the same validating constructor.
//!
//! All parsers share one error type, [`IdentifierError`], that names the
//! offending position and what was expected, in English and in Chinese.

mod area_code;
mod citizen_id;
mod credit_code;
mod division_code;
mod error;
mod grid_code;
mod parsing;
mod person_name;
mod phone;

pub use area_code::{AreaCode, AreaLevel};
pub use citizen_id::{CitizenId, Sex};
pub use credit_code::{CreditCode, OrganisationType, RegistrationAuthority};
pub use division_code::{DivisionCode, DivisionLevel};
pub use error::{Expected, ExpectedLength, IdentifierError, IdentifierKind};
pub use grid_code::GridCode;
pub use person_name::PersonName;
pub use phone::Phone;

/// Implements `Serialize` as the identifier's string and `Deserialize` through
/// its validating constructor, so invalid identifiers cannot enter through JSON.
macro_rules! string_serde {
    ($identifier:ty, $constructor:path, $expecting:literal) => {
        impl serde::Serialize for $identifier {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $identifier {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct IdentifierVisitor;

                impl serde::de::Visitor<'_> for IdentifierVisitor {
                    type Value = $identifier;

                    fn expecting(
                        &self,
                        formatter: &mut std::fmt::Formatter<'_>,
                    ) -> std::fmt::Result {
                        formatter.write_str($expecting)
                    }

                    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Self::Value, E> {
                        $constructor(text).map_err(E::custom)
                    }
                }

                deserializer.deserialize_str(IdentifierVisitor)
            }
        }
    };
}

pub(crate) use string_serde;
