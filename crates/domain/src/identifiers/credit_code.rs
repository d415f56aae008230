//! 统一社会信用代码 (unified social credit code, GB 32100-2015): the
//! 18-character identifier of every legal entity and other organisation.
//!
//! Layout (1-based positions):
//!
//! | positions | meaning                                                        |
//! |-----------|----------------------------------------------------------------|
//! | 1         | 登记管理部门代码: registration authority ([`RegistrationAuthority`]) |
//! | 2         | 机构类别代码: organisation type, valid per authority ([`OrganisationType`]) |
//! | 3–8       | 登记管理机关行政区划码: division code of the registering office    |
//! | 9–17      | 主体标识码: the GB 11714 organisation code; position 17 is its MOD 11 check |
//! | 18        | 校验码: GB/T 17710 MOD 31 check character                       |
//!
//! The alphabet is the 31 characters `0-9A-Z` without I, O, Z, S, V.
//!
//! Decision on positions 3–8: the standard says "a GB/T 2260 code", but real
//! codes use registration-office codes outside GB/T 2260 — 100000 for national
//! registration and the statistical codes of development zones such as 320594
//! (苏州工业园区, e.g. 91320594780268314T, whose both check characters are
//! valid). Rejecting them would reject real enterprises, so Huimin requires six
//! digits whose first two name a known province (or 10, national) and offers
//! [`CreditCode::registration_area`] which is `Some` only for a GB/T 2260 code.
//!
//! The organisation code's own check (position 17) uses the GB 11714 values
//! A=10 … Z=35, not the MOD 31 alphabet's values; the two agree only up to H.
//! This was confirmed on real codes such as 91110108MA01G0FB09.

use std::fmt;

use super::area_code::{AreaCode, AreaLevel};
use super::error::{Expected, IdentifierError, IdentifierKind};
use super::parsing::{require_digits, require_length, trimmed_characters};

const KIND: IdentifierKind = IdentifierKind::CreditCode;

/// The GB 32100 code character set; a character's value is its index.
const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// MOD 31 weights for positions 1–17 (3^(i-1) mod 31).
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// GB 11714 weights for the eight body characters of the organisation code.
const ORGANISATION_CODE_WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];

fn alphabet_value(character: char) -> Option<u32> {
    ALPHABET
        .iter()
        .position(|&member| char::from(member) == character)
        .and_then(|index| u32::try_from(index).ok())
}

/// GB 11714 value of a character: digits 0–9, letters A=10 … Z=35.
fn organisation_code_value(character: char) -> u32 {
    character.to_digit(36).unwrap_or(0)
}

/// The GB 11714 check character for the eight body characters.
fn organisation_check_character(body: &[char]) -> char {
    let sum: u32 = body
        .iter()
        .zip(ORGANISATION_CODE_WEIGHTS)
        .map(|(&character, weight)| organisation_code_value(character) * weight)
        .sum();
    match 11 - sum % 11 {
        10 => 'X',
        11 => '0',
        value => char::from_digit(value, 10).unwrap_or('0'),
    }
}

/// The MOD 31 check character for the first 17 characters.
fn check_character(first_seventeen: &[char]) -> char {
    let sum: u32 = first_seventeen
        .iter()
        .zip(WEIGHTS)
        .map(|(&character, weight)| alphabet_value(character).unwrap_or(0) * weight)
        .sum();
    let value = (31 - sum % 31) % 31;
    ALPHABET
        .get(value as usize)
        .map(|&byte| char::from(byte))
        .unwrap_or('0')
}

/// 登记管理部门 (position 1), as listed by GB 32100-2015 and its later
/// additions (A and N).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegistrationAuthority {
    /// 1 机构编制
    InstitutionalEstablishment,
    /// 2 外交
    ForeignAffairs,
    /// 3 司法行政
    JusticeAdministration,
    /// 4 文化
    Culture,
    /// 5 民政
    CivilAffairs,
    /// 6 旅游
    Tourism,
    /// 7 宗教
    ReligiousAffairs,
    /// 8 工会
    TradeUnion,
    /// 9 工商 (now market regulation)
    IndustryAndCommerce,
    /// A 中央军委改革和编制办公室
    MilitaryEstablishment,
    /// N 农业
    Agriculture,
    /// Y 其他
    Other,
}

impl RegistrationAuthority {
    /// Every authority, in code order.
    pub const ALL: [RegistrationAuthority; 12] = [
        RegistrationAuthority::InstitutionalEstablishment,
        RegistrationAuthority::ForeignAffairs,
        RegistrationAuthority::JusticeAdministration,
        RegistrationAuthority::Culture,
        RegistrationAuthority::CivilAffairs,
        RegistrationAuthority::Tourism,
        RegistrationAuthority::ReligiousAffairs,
        RegistrationAuthority::TradeUnion,
        RegistrationAuthority::IndustryAndCommerce,
        RegistrationAuthority::MilitaryEstablishment,
        RegistrationAuthority::Agriculture,
        RegistrationAuthority::Other,
    ];

    /// The character at position 1.
    pub fn code(self) -> char {
        match self {
            RegistrationAuthority::InstitutionalEstablishment => '1',
            RegistrationAuthority::ForeignAffairs => '2',
            RegistrationAuthority::JusticeAdministration => '3',
            RegistrationAuthority::Culture => '4',
            RegistrationAuthority::CivilAffairs => '5',
            RegistrationAuthority::Tourism => '6',
            RegistrationAuthority::ReligiousAffairs => '7',
            RegistrationAuthority::TradeUnion => '8',
            RegistrationAuthority::IndustryAndCommerce => '9',
            RegistrationAuthority::MilitaryEstablishment => 'A',
            RegistrationAuthority::Agriculture => 'N',
            RegistrationAuthority::Other => 'Y',
        }
    }

    /// The authority for a position-1 character.
    pub fn from_code(code: char) -> Option<RegistrationAuthority> {
        RegistrationAuthority::ALL
            .into_iter()
            .find(|authority| authority.code() == code)
    }

    /// The Chinese name used in the standard's table.
    pub fn name_zh(self) -> &'static str {
        match self {
            RegistrationAuthority::InstitutionalEstablishment => "机构编制",
            RegistrationAuthority::ForeignAffairs => "外交",
            RegistrationAuthority::JusticeAdministration => "司法行政",
            RegistrationAuthority::Culture => "文化",
            RegistrationAuthority::CivilAffairs => "民政",
            RegistrationAuthority::Tourism => "旅游",
            RegistrationAuthority::ReligiousAffairs => "宗教",
            RegistrationAuthority::TradeUnion => "工会",
            RegistrationAuthority::IndustryAndCommerce => "工商",
            RegistrationAuthority::MilitaryEstablishment => "中央军委改革和编制办公室",
            RegistrationAuthority::Agriculture => "农业",
            RegistrationAuthority::Other => "其他",
        }
    }

    /// The organisation-type characters this authority issues (position 2).
    pub fn organisation_type_codes(self) -> &'static [char] {
        match self {
            RegistrationAuthority::InstitutionalEstablishment => &['1', '2', '3', '9'],
            RegistrationAuthority::ForeignAffairs => &['1', '9'],
            RegistrationAuthority::JusticeAdministration => &['1', '2', '3', '4', '5', '9'],
            RegistrationAuthority::Culture => &['1', '9'],
            RegistrationAuthority::CivilAffairs => &['1', '2', '3', '9'],
            RegistrationAuthority::Tourism => &['1', '2', '9'],
            RegistrationAuthority::ReligiousAffairs => &['1', '2', '9'],
            RegistrationAuthority::TradeUnion => &['1', '9'],
            RegistrationAuthority::IndustryAndCommerce => &['1', '2', '3'],
            RegistrationAuthority::MilitaryEstablishment => &['1', '9'],
            RegistrationAuthority::Agriculture => &['1', '2', '3', '9'],
            RegistrationAuthority::Other => &['1'],
        }
    }
}

impl fmt::Display for RegistrationAuthority {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name_zh())
    }
}

/// 机构类别 (position 2) together with the authority that issues it, since the
/// same character means different things under different authorities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrganisationType {
    /// 1-1 机关
    GovernmentOrgan,
    /// 1-2 事业单位
    PublicInstitution,
    /// 1-3 中央编办直接管理机构编制的群众团体
    CentrallyEstablishedMassOrganisation,
    /// 1-9 其他 (机构编制)
    OtherEstablishment,
    /// 2-1 外国常住新闻机构
    ForeignPressOffice,
    /// 2-9 其他 (外交)
    OtherForeignAffairs,
    /// 3-1 律师执业机构
    LawFirm,
    /// 3-2 公证处
    NotaryOffice,
    /// 3-3 基层法律服务所
    GrassrootsLegalServiceOffice,
    /// 3-4 司法鉴定机构
    ForensicExpertiseInstitution,
    /// 3-5 仲裁委员会
    ArbitrationCommission,
    /// 3-9 其他 (司法行政)
    OtherJustice,
    /// 4-1 外国在华文化中心
    ForeignCulturalCentre,
    /// 4-9 其他 (文化)
    OtherCulture,
    /// 5-1 社会团体
    SocialOrganisation,
    /// 5-2 民办非企业单位
    PrivateNonEnterpriseUnit,
    /// 5-3 基金会
    Foundation,
    /// 5-9 其他 (民政)
    OtherCivilAffairs,
    /// 6-1 外国旅游部门常驻代表机构
    ForeignTourismOffice,
    /// 6-2 港澳台地区旅游部门常驻内地（大陆）代表机构
    HongKongMacaoTaiwanTourismOffice,
    /// 6-9 其他 (旅游)
    OtherTourism,
    /// 7-1 宗教活动场所
    ReligiousVenue,
    /// 7-2 宗教院校
    ReligiousSchool,
    /// 7-9 其他 (宗教)
    OtherReligious,
    /// 8-1 基层工会
    GrassrootsTradeUnion,
    /// 8-9 其他 (工会)
    OtherTradeUnion,
    /// 9-1 企业
    Enterprise,
    /// 9-2 个体工商户
    IndividualBusiness,
    /// 9-3 农民专业合作社
    FarmersCooperative,
    /// A-1 军队事业单位
    MilitaryPublicInstitution,
    /// A-9 其他 (中央军委改革和编制办公室)
    OtherMilitary,
    /// N-1 组级集体经济组织
    GroupCollectiveEconomicOrganisation,
    /// N-2 村级集体经济组织
    VillageCollectiveEconomicOrganisation,
    /// N-3 乡镇级集体经济组织
    TownshipCollectiveEconomicOrganisation,
    /// N-9 其他 (农业)
    OtherAgriculture,
    /// Y-1 其他 (no further types)
    Other,
}

impl OrganisationType {
    /// Every organisation type, in code order.
    pub const ALL: [OrganisationType; 36] = [
        OrganisationType::GovernmentOrgan,
        OrganisationType::PublicInstitution,
        OrganisationType::CentrallyEstablishedMassOrganisation,
        OrganisationType::OtherEstablishment,
        OrganisationType::ForeignPressOffice,
        OrganisationType::OtherForeignAffairs,
        OrganisationType::LawFirm,
        OrganisationType::NotaryOffice,
        OrganisationType::GrassrootsLegalServiceOffice,
        OrganisationType::ForensicExpertiseInstitution,
        OrganisationType::ArbitrationCommission,
        OrganisationType::OtherJustice,
        OrganisationType::ForeignCulturalCentre,
        OrganisationType::OtherCulture,
        OrganisationType::SocialOrganisation,
        OrganisationType::PrivateNonEnterpriseUnit,
        OrganisationType::Foundation,
        OrganisationType::OtherCivilAffairs,
        OrganisationType::ForeignTourismOffice,
        OrganisationType::HongKongMacaoTaiwanTourismOffice,
        OrganisationType::OtherTourism,
        OrganisationType::ReligiousVenue,
        OrganisationType::ReligiousSchool,
        OrganisationType::OtherReligious,
        OrganisationType::GrassrootsTradeUnion,
        OrganisationType::OtherTradeUnion,
        OrganisationType::Enterprise,
        OrganisationType::IndividualBusiness,
        OrganisationType::FarmersCooperative,
        OrganisationType::MilitaryPublicInstitution,
        OrganisationType::OtherMilitary,
        OrganisationType::GroupCollectiveEconomicOrganisation,
        OrganisationType::VillageCollectiveEconomicOrganisation,
        OrganisationType::TownshipCollectiveEconomicOrganisation,
        OrganisationType::OtherAgriculture,
        OrganisationType::Other,
    ];

    /// The registration authority and the position-2 character.
    pub fn codes(self) -> (RegistrationAuthority, char) {
        use OrganisationType as Type;
        use RegistrationAuthority as Authority;
        match self {
            Type::GovernmentOrgan => (Authority::InstitutionalEstablishment, '1'),
            Type::PublicInstitution => (Authority::InstitutionalEstablishment, '2'),
            Type::CentrallyEstablishedMassOrganisation => {
                (Authority::InstitutionalEstablishment, '3')
            }
            Type::OtherEstablishment => (Authority::InstitutionalEstablishment, '9'),
            Type::ForeignPressOffice => (Authority::ForeignAffairs, '1'),
            Type::OtherForeignAffairs => (Authority::ForeignAffairs, '9'),
            Type::LawFirm => (Authority::JusticeAdministration, '1'),
            Type::NotaryOffice => (Authority::JusticeAdministration, '2'),
            Type::GrassrootsLegalServiceOffice => (Authority::JusticeAdministration, '3'),
            Type::ForensicExpertiseInstitution => (Authority::JusticeAdministration, '4'),
            Type::ArbitrationCommission => (Authority::JusticeAdministration, '5'),
            Type::OtherJustice => (Authority::JusticeAdministration, '9'),
            Type::ForeignCulturalCentre => (Authority::Culture, '1'),
            Type::OtherCulture => (Authority::Culture, '9'),
            Type::SocialOrganisation => (Authority::CivilAffairs, '1'),
            Type::PrivateNonEnterpriseUnit => (Authority::CivilAffairs, '2'),
            Type::Foundation => (Authority::CivilAffairs, '3'),
            Type::OtherCivilAffairs => (Authority::CivilAffairs, '9'),
            Type::ForeignTourismOffice => (Authority::Tourism, '1'),
            Type::HongKongMacaoTaiwanTourismOffice => (Authority::Tourism, '2'),
            Type::OtherTourism => (Authority::Tourism, '9'),
            Type::ReligiousVenue => (Authority::ReligiousAffairs, '1'),
            Type::ReligiousSchool => (Authority::ReligiousAffairs, '2'),
            Type::OtherReligious => (Authority::ReligiousAffairs, '9'),
            Type::GrassrootsTradeUnion => (Authority::TradeUnion, '1'),
            Type::OtherTradeUnion => (Authority::TradeUnion, '9'),
            Type::Enterprise => (Authority::IndustryAndCommerce, '1'),
            Type::IndividualBusiness => (Authority::IndustryAndCommerce, '2'),
            Type::FarmersCooperative => (Authority::IndustryAndCommerce, '3'),
            Type::MilitaryPublicInstitution => (Authority::MilitaryEstablishment, '1'),
            Type::OtherMilitary => (Authority::MilitaryEstablishment, '9'),
            Type::GroupCollectiveEconomicOrganisation => (Authority::Agriculture, '1'),
            Type::VillageCollectiveEconomicOrganisation => (Authority::Agriculture, '2'),
            Type::TownshipCollectiveEconomicOrganisation => (Authority::Agriculture, '3'),
            Type::OtherAgriculture => (Authority::Agriculture, '9'),
            Type::Other => (Authority::Other, '1'),
        }
    }

    /// The type for an authority and a position-2 character, if the standard
    /// lists that combination.
    pub fn from_codes(authority: RegistrationAuthority, code: char) -> Option<OrganisationType> {
        OrganisationType::ALL
            .into_iter()
            .find(|organisation_type| organisation_type.codes() == (authority, code))
    }

    /// The issuing registration authority.
    pub fn registration_authority(self) -> RegistrationAuthority {
        self.codes().0
    }

    /// The Chinese name used in the standard's table.
    pub fn name_zh(self) -> &'static str {
        use OrganisationType as Type;
        match self {
            Type::GovernmentOrgan => "机关",
            Type::PublicInstitution => "事业单位",
            Type::CentrallyEstablishedMassOrganisation => "中央编办直接管理机构编制的群众团体",
            Type::ForeignPressOffice => "外国常住新闻机构",
            Type::LawFirm => "律师执业机构",
            Type::NotaryOffice => "公证处",
            Type::GrassrootsLegalServiceOffice => "基层法律服务所",
            Type::ForensicExpertiseInstitution => "司法鉴定机构",
            Type::ArbitrationCommission => "仲裁委员会",
            Type::ForeignCulturalCentre => "外国在华文化中心",
            Type::SocialOrganisation => "社会团体",
            Type::PrivateNonEnterpriseUnit => "民办非企业单位",
            Type::Foundation => "基金会",
            Type::ForeignTourismOffice => "外国旅游部门常驻代表机构",
            Type::HongKongMacaoTaiwanTourismOffice => "港澳台地区旅游部门常驻内地（大陆）代表机构",
            Type::ReligiousVenue => "宗教活动场所",
            Type::ReligiousSchool => "宗教院校",
            Type::GrassrootsTradeUnion => "基层工会",
            Type::Enterprise => "企业",
            Type::IndividualBusiness => "个体工商户",
            Type::FarmersCooperative => "农民专业合作社",
            Type::MilitaryPublicInstitution => "军队事业单位",
            Type::GroupCollectiveEconomicOrganisation => "组级集体经济组织",
            Type::VillageCollectiveEconomicOrganisation => "村级集体经济组织",
            Type::TownshipCollectiveEconomicOrganisation => "乡镇级集体经济组织",
            Type::OtherEstablishment
            | Type::OtherForeignAffairs
            | Type::OtherJustice
            | Type::OtherCulture
            | Type::OtherCivilAffairs
            | Type::OtherTourism
            | Type::OtherReligious
            | Type::OtherTradeUnion
            | Type::OtherMilitary
            | Type::OtherAgriculture
            | Type::Other => "其他",
        }
    }
}

impl fmt::Display for OrganisationType {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name_zh())
    }
}

/// A valid unified social credit code, stored upper-case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CreditCode {
    text: String,
}

/// Rejects any character outside the GB 32100 alphabet in `range` (0-based).
fn require_alphabet(
    characters: &[char],
    range: std::ops::Range<usize>,
) -> Result<(), IdentifierError> {
    for index in range {
        let Some(&character) = characters.get(index) else {
            continue;
        };
        if alphabet_value(character).is_none() {
            return Err(IdentifierError::InvalidCharacter {
                kind: KIND,
                position: index + 1,
                found: character,
                expected: Expected::CreditCodeCharacter,
            });
        }
    }
    Ok(())
}

/// Positions 3–8: six digits whose province is known (or 10, national).
fn require_registration_area(characters: &[char]) -> Result<(), IdentifierError> {
    require_digits(KIND, characters, 2..8)?;
    let province_digits: String = characters[2..4].iter().collect();
    let national = province_digits == "10";
    let known_province = AreaCode::lookup(&format!("{province_digits}0000"))
        .is_some_and(|area| area.level() == AreaLevel::Province);
    if national || known_province {
        Ok(())
    } else {
        Err(IdentifierError::InvalidSegment {
            kind: KIND,
            start: 3,
            end: 4,
            found: province_digits,
            expected: Expected::ProvinceOfRegistration,
        })
    }
}

impl CreditCode {
    /// Parses an 18-character code; lower-case letters are accepted and stored
    /// upper-case.
    pub fn parse(input: &str) -> Result<CreditCode, IdentifierError> {
        let characters: super::parsing::Characters = trimmed_characters(KIND, input)?
            .into_iter()
            .map(|character| character.to_ascii_uppercase())
            .collect();
        require_length(KIND, &characters, 18)?;

        let authority_code = characters[0];
        let Some(authority) = RegistrationAuthority::from_code(authority_code) else {
            return Err(IdentifierError::InvalidCharacter {
                kind: KIND,
                position: 1,
                found: authority_code,
                expected: Expected::RegistrationAuthorityCode,
            });
        };
        let type_code = characters[1];
        if OrganisationType::from_codes(authority, type_code).is_none() {
            return Err(IdentifierError::InvalidCombination {
                kind: KIND,
                position: 2,
                found: type_code,
                preceding: authority_code,
                expected: authority.organisation_type_codes(),
            });
        }
        require_registration_area(&characters)?;
        require_alphabet(&characters, 8..17)?;

        let organisation_check = organisation_check_character(&characters[8..16]);
        if characters[16] != organisation_check {
            return Err(IdentifierError::CheckCharacterMismatch {
                kind: KIND,
                position: 17,
                found: characters[16],
                expected: organisation_check,
            });
        }
        // Like the standard's worked example (…Y4Z, expected 3), any wrong
        // 18th character is reported as a check mismatch naming the right one.
        let expected = check_character(&characters[..17]);
        if characters[17] != expected {
            return Err(IdentifierError::CheckCharacterMismatch {
                kind: KIND,
                position: 18,
                found: characters[17],
                expected,
            });
        }
        Ok(CreditCode {
            text: characters.into_iter().collect(),
        })
    }

    /// Builds a code from its parts, computing both check characters; used by
    /// the synthetic city generator. `organisation_body` is the eight-character
    /// body of the organisation code (positions 9–16) from the GB 32100
    /// alphabet; lower case is accepted.
    pub fn from_parts(
        organisation_type: OrganisationType,
        registration_area: &AreaCode,
        organisation_body: &str,
    ) -> Result<CreditCode, IdentifierError> {
        let (authority, type_code) = organisation_type.codes();
        let mut characters = vec![authority.code(), type_code];
        characters.extend(registration_area.as_str().chars());
        let body: Vec<char> = organisation_body
            .chars()
            .map(|character| character.to_ascii_uppercase())
            .collect();
        if body.len() != 8 {
            return Err(IdentifierError::WrongLength {
                kind: KIND,
                expected: super::ExpectedLength::Exactly(8),
                found: body.len(),
            });
        }
        characters.extend_from_slice(&body);
        require_alphabet(&characters, 8..16)?;
        characters.push(organisation_check_character(&body));
        characters.push(check_character(&characters));
        Ok(CreditCode {
            text: characters.into_iter().collect(),
        })
    }

    /// The 18 characters, upper-case.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    fn character(&self, index: usize) -> char {
        self.text.chars().nth(index).unwrap_or('0')
    }

    /// 登记管理部门 (position 1).
    pub fn registration_authority(&self) -> RegistrationAuthority {
        RegistrationAuthority::from_code(self.character(0)).unwrap_or(RegistrationAuthority::Other)
    }

    /// 机构类别 (position 2).
    pub fn organisation_type(&self) -> OrganisationType {
        OrganisationType::from_codes(self.registration_authority(), self.character(1))
            .unwrap_or(OrganisationType::Other)
    }

    /// The registering office's division code (positions 3–8) as written;
    /// may be 100000 (national) or a development-zone code outside GB/T 2260.
    pub fn registration_area_code(&self) -> &str {
        self.text.get(2..8).unwrap_or_default()
    }

    /// The registering office's division, if positions 3–8 are a GB/T 2260 code.
    pub fn registration_area(&self) -> Option<AreaCode> {
        AreaCode::lookup(self.registration_area_code())
    }

    /// The nine-character GB 11714 organisation code (positions 9–17).
    pub fn organisation_code(&self) -> &str {
        self.text.get(8..17).unwrap_or_default()
    }

    /// The MOD 31 check character (position 18).
    pub fn check_character(&self) -> char {
        self.character(17)
    }
}

impl fmt::Display for CreditCode {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.text)
    }
}

super::string_serde!(
    CreditCode,
    CreditCode::parse,
    "an 18-character unified social credit code"
);
