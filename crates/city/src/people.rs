//! Who the people of a family are: their names, ethnic groups and birthplaces, their
//! birth dates and identity numbers, and their phones.
//!
//! Identity numbers carry the code of the birthplace as it was when the person was first
//! registered (江都 people registered before 1994 carry 江都县's 321026, for example), the
//! birth date, and a 顺序码 that is unique per area and birth date, odd for men and even
//! for women. About one person in seven was born outside the city's three districts and
//! carries that birthplace; ethnic minorities are about 1.5 %, Uyghur families with
//! middle-dot names among them. This module must not decide family shapes (that is
//! `households`) or addresses (that is `housing`).

use crate::generator::{Generator, WeightedTable};
use crate::households::MemberShape;
use crate::names;
use chrono::{Datelike, Days, Months, NaiveDate};
use huimin_domain::identifiers::{AreaCode, CitizenId, Phone, Sex};
use huimin_domain::registry::{Ethnicity, Relationship};
use std::collections::{HashMap, HashSet};

/// Where the city's floating population and its settled newcomers were born, with
/// weights: mostly the rest of Jiangsu and neighbouring Anhui, then the provinces that
/// send workers east. All are current GB/T 2260 codes.
const BIRTHPLACES_ELSEWHERE: [(&str, u32); 27] = [
    ("321081", 7), // 仪征市
    ("321084", 8), // 高邮市
    ("321023", 8), // 宝应县
    ("321202", 7), // 泰州市海陵区
    ("320902", 7), // 盐城市亭湖区
    ("320804", 6), // 淮安市淮阴区
    ("320311", 5), // 徐州市泉山区
    ("320102", 4), // 南京市玄武区
    ("320583", 2), // 昆山市
    ("340202", 6), // 芜湖市镜湖区
    ("340102", 4), // 合肥市瑶海区
    ("341202", 8), // 阜阳市颍州区
    ("341302", 7), // 宿州市埇桥区
    ("410102", 4), // 郑州市中原区
    ("411302", 4), // 南阳市宛城区
    ("360502", 3), // 新余市渝水区
    ("360102", 2), // 南昌市东湖区
    ("510104", 3), // 成都市锦江区
    ("500103", 2), // 重庆市渝中区
    ("430102", 2), // 长沙市芙蓉区
    ("420102", 2), // 武汉市江岸区
    ("370102", 2), // 济南市历下区
    ("130102", 1), // 石家庄市长安区
    ("440106", 2), // 广州市天河区
    ("330106", 2), // 杭州市西湖区
    ("350102", 1), // 福州市鼓楼区
    ("620102", 1), // 兰州市城关区
];

/// Hometowns of Uyghur families: 乌鲁木齐市天山区 and 喀什市.
const UYGHUR_HOMETOWNS: [&str; 2] = ["650102", "653101"];

/// Codes a district had before its current one, with the first year of the next code
/// (approximate change years): 江都 was 江都县 (321026) until it became 江都市 (321088) in
/// 1994 and a district of Yangzhou (321012) in 2011; 邗江县 (321027) became part of 邗江区
/// in 2000. Identity numbers keep the code of first registration, and the first resident
/// identity cards were issued in the mid-1980s, so older people carry the code of then.
const EARLIER_DISTRICT_CODES: [(&str, &[(i32, &str)]); 2] = [
    ("321012", &[(1994, "321026"), (2012, "321088")]),
    ("321003", &[(2000, "321027")]),
];
const FIRST_REGISTRATION_YEAR: i32 = 1986;

/// Minority groups of the city by their GB 3304 codes, with weights: 回族 is the largest
/// minority in Jiangsu.
const MINORITIES: [(u8, u32); 6] = [(3, 45), (11, 20), (8, 10), (6, 8), (15, 8), (2, 9)];
const UYGHUR: u8 = 5;

/// Share of local families of a minority group, and of migrant families; share of
/// migrant families that are Uyghur.
const LOCAL_MINORITY_FAMILY_SHARE: f64 = 0.011;
const MIGRANT_MINORITY_FAMILY_SHARE: f64 = 0.03;
const MIGRANT_UYGHUR_FAMILY_SHARE: f64 = 0.02;

/// Share of adults of local families born outside the city (spouses from elsewhere,
/// people who settled long ago).
const LOCAL_ADULTS_BORN_ELSEWHERE: f64 = 0.05;

/// Mobile number blocks of the three carriers.
const MOBILE_PREFIXES: [u64; 33] = [
    130, 131, 132, 133, 135, 136, 137, 138, 139, 150, 151, 152, 153, 155, 156, 157, 158, 159, 166,
    173, 177, 180, 181, 182, 183, 185, 186, 187, 188, 189, 191, 198, 199,
];

/// What `people` decides about a member of a family.
pub(crate) struct MemberDescription {
    pub name: String,
    pub ethnicity: Ethnicity,
    /// The code in the identity number.
    pub birth_area: AreaCode,
    /// Born in one of the city's districts.
    pub born_locally: bool,
}

/// The family's origin as far as naming and birthplaces go.
pub(crate) struct FamilyDescription {
    pub members: Vec<MemberDescription>,
    /// For migrant families, the county-level area of their household registration.
    pub hometown: Option<AreaCode>,
}

/// Names and birthplaces for families; holds the tables so they are built once.
pub(crate) struct Describer {
    surnames: WeightedTable<&'static str>,
    elsewhere: WeightedTable<AreaCode>,
    uyghur_hometowns: Vec<AreaCode>,
    minorities: WeightedTable<Ethnicity>,
    city_districts: Vec<AreaCode>,
}

impl Describer {
    pub(crate) fn new(city_districts: Vec<AreaCode>) -> Describer {
        let elsewhere: Vec<(AreaCode, u32)> = BIRTHPLACES_ELSEWHERE
            .iter()
            .map(|(code, weight)| (parse_area(code), *weight))
            .collect();
        let minorities: Vec<(Ethnicity, u32)> = MINORITIES
            .iter()
            .map(|(code, weight)| {
                (
                    Ethnicity::from_code(*code).expect("GB 3304 codes 1–56 exist"),
                    *weight,
                )
            })
            .collect();
        Describer {
            surnames: names::surname_table(),
            elsewhere: WeightedTable::new(&elsewhere),
            uyghur_hometowns: UYGHUR_HOMETOWNS
                .iter()
                .map(|code| parse_area(code))
                .collect(),
            minorities: WeightedTable::new(&minorities),
            city_districts,
        }
    }

    /// Names, ethnic groups and birthplaces for the members of a family living in
    /// `residence_district`.
    pub(crate) fn describe(
        &self,
        generator: &mut Generator,
        shapes: &[MemberShape],
        migrant: bool,
        residence_district: AreaCode,
    ) -> FamilyDescription {
        let today = generator.today();
        let uyghur = migrant && generator.chance(MIGRANT_UYGHUR_FAMILY_SHARE);
        let minority_share = if migrant {
            MIGRANT_MINORITY_FAMILY_SHARE
        } else {
            LOCAL_MINORITY_FAMILY_SHARE
        };
        let family_ethnicity = if uyghur {
            Ethnicity::from_code(UYGHUR).expect("05 is 维吾尔族 in GB 3304")
        } else if generator.chance(minority_share) {
            self.minorities.sample(generator)
        } else {
            Ethnicity::HAN
        };
        let hometown = match (migrant, uyghur) {
            (true, true) => Some(*generator.pick(&self.uyghur_hometowns)),
            (true, false) => Some(self.elsewhere.sample(generator)),
            (false, _) => None,
        };
        let names = if uyghur {
            uyghur_family_names(generator, shapes)
        } else {
            self.han_family_names(generator, shapes, today)
        };
        let members = shapes
            .iter()
            .zip(names)
            .map(|(shape, name)| {
                let ethnicity =
                    member_ethnicity(generator, shape.relationship, family_ethnicity, uyghur);
                let birth_year = today.year() - i32::try_from(shape.age).unwrap_or(0);
                let (birth_area, born_locally) = self.birthplace(
                    generator,
                    shape,
                    hometown,
                    uyghur,
                    residence_district,
                    birth_year,
                );
                MemberDescription {
                    name,
                    ethnicity,
                    birth_area,
                    born_locally,
                }
            })
            .collect();
        FamilyDescription { members, hometown }
    }

    /// Han names: children take the father's surname (a few the mother's), wives and
    /// in-laws keep their own, the head's father shares the head's surname.
    fn han_family_names(
        &self,
        generator: &mut Generator,
        shapes: &[MemberShape],
        today: NaiveDate,
    ) -> Vec<String> {
        let has_husband_spouse = shapes
            .iter()
            .any(|shape| shape.relationship == Relationship::Spouse && shape.sex == Sex::Male);
        let paternal = self.surnames.sample(generator);
        let mut head_surname = paternal;
        let mut mother_surname: Option<&str> = None;
        let mut married_child_surname = paternal;
        let mut son_in_law_surname: Option<&str> = None;
        let mut names = Vec::with_capacity(shapes.len());
        for shape in shapes {
            let surname = match shape.relationship {
                Relationship::Head => {
                    if shape.sex == Sex::Female && (has_husband_spouse || generator.chance(0.5)) {
                        head_surname = self.surnames.sample(generator);
                    }
                    if shape.sex == Sex::Female {
                        mother_surname = Some(head_surname);
                    }
                    head_surname
                }
                Relationship::Spouse => {
                    if shape.sex == Sex::Male {
                        paternal
                    } else {
                        let own = self.surnames.sample(generator);
                        mother_surname = Some(own);
                        own
                    }
                }
                Relationship::Son | Relationship::Daughter => {
                    let surname = match mother_surname {
                        Some(mother) if generator.chance(0.07) => mother,
                        _ => paternal,
                    };
                    married_child_surname = surname;
                    surname
                }
                Relationship::Father => head_surname,
                Relationship::SonOrDaughterInLaw => {
                    let own = self.surnames.sample(generator);
                    if shape.sex == Sex::Male {
                        son_in_law_surname = Some(own);
                    }
                    own
                }
                Relationship::Grandchild => son_in_law_surname.unwrap_or(married_child_surname),
                _ => self.surnames.sample(generator),
            };
            let birth_year = today.year() - i32::try_from(shape.age).unwrap_or(0);
            names.push(format!(
                "{surname}{}",
                names::han_given_name(generator, shape.sex, birth_year)
            ));
        }
        names
    }

    /// The birthplace a member's identity number records, and whether it is one of the
    /// city's districts.
    fn birthplace(
        &self,
        generator: &mut Generator,
        shape: &MemberShape,
        hometown: Option<AreaCode>,
        uyghur: bool,
        residence_district: AreaCode,
        birth_year: i32,
    ) -> (AreaCode, bool) {
        let child = matches!(
            shape.relationship,
            Relationship::Son | Relationship::Daughter | Relationship::Grandchild
        );
        let born_here = match hometown {
            // Young children of migrants are often born where their parents work.
            Some(_) => child && shape.age < 6 && generator.chance(0.4),
            None => child || shape.age < 18 || !generator.chance(LOCAL_ADULTS_BORN_ELSEWHERE),
        };
        if born_here {
            let district = if generator.chance(0.85) {
                residence_district
            } else {
                *generator.pick(&self.city_districts)
            };
            (code_at_first_registration(district, birth_year), true)
        } else {
            let place = match hometown {
                // Spouses of migrants mostly come from the same place.
                Some(hometown)
                    if shape.relationship != Relationship::Spouse || generator.chance(0.75) =>
                {
                    hometown
                }
                _ if uyghur => *generator.pick(&self.uyghur_hometowns),
                _ => self.elsewhere.sample(generator),
            };
            (place, false)
        }
    }
}

/// Uyghur names: own name, middle dot, father's name. Children carry the name of their
/// father (the male one of head and spouse); the head's father is the name the head
/// carries after the dot.
fn uyghur_family_names(generator: &mut Generator, shapes: &[MemberShape]) -> Vec<String> {
    // Own names differ within the family, so a daughter is never her mother's namesake.
    let mut own_names: Vec<&str> = Vec::with_capacity(shapes.len());
    for shape in shapes {
        let mut own = names::uyghur_name(generator, shape.sex);
        for _ in 0..8 {
            if !own_names.contains(&own) {
                break;
            }
            own = names::uyghur_name(generator, shape.sex);
        }
        own_names.push(own);
    }
    let head_father = different_male_name(generator, &own_names);
    let father_of_children = shapes
        .iter()
        .zip(&own_names)
        .take(2)
        .find(|(shape, _)| shape.sex == Sex::Male)
        .map(|(_, own)| *own);
    let married_child_father = shapes
        .iter()
        .zip(&own_names)
        .find(|(shape, _)| {
            shape.sex == Sex::Male
                && matches!(
                    shape.relationship,
                    Relationship::Son | Relationship::SonOrDaughterInLaw
                )
        })
        .map(|(_, own)| *own);
    shapes
        .iter()
        .zip(&own_names)
        .map(|(shape, own)| {
            let own = match shape.relationship {
                Relationship::Father => head_father,
                _ => own,
            };
            let father = match shape.relationship {
                Relationship::Head => head_father,
                Relationship::Son | Relationship::Daughter => {
                    father_of_children.unwrap_or_else(|| different_male_name(generator, &own_names))
                }
                Relationship::Grandchild => married_child_father
                    .unwrap_or_else(|| different_male_name(generator, &own_names)),
                _ => different_male_name(generator, &own_names),
            };
            format!("{own}·{father}")
        })
        .collect()
}

/// A man's name that is none of the family's own names, so that a wife's or an in-law's
/// father is not mistaken for a member.
fn different_male_name(generator: &mut Generator, own_names: &[&str]) -> &'static str {
    let mut name = names::uyghur_name(generator, Sex::Male);
    for _ in 0..8 {
        if !own_names.contains(&name) {
            break;
        }
        name = names::uyghur_name(generator, Sex::Male);
    }
    name
}

/// Children and the head's parents share the family's group; spouses and in-laws of a
/// minority family are often Han.
fn member_ethnicity(
    generator: &mut Generator,
    relationship: Relationship,
    family_ethnicity: Ethnicity,
    uyghur: bool,
) -> Ethnicity {
    if uyghur || family_ethnicity == Ethnicity::HAN {
        return family_ethnicity;
    }
    match relationship {
        Relationship::Spouse | Relationship::SonOrDaughterInLaw if generator.chance(0.4) => {
            Ethnicity::HAN
        }
        _ => family_ethnicity,
    }
}

/// The code of `district` in the year its native born in `birth_year` were first
/// registered.
fn code_at_first_registration(district: AreaCode, birth_year: i32) -> AreaCode {
    let registration_year = birth_year.max(FIRST_REGISTRATION_YEAR);
    EARLIER_DISTRICT_CODES
        .iter()
        .find(|(current, _)| *current == district.as_str())
        .and_then(|(_, earlier)| earlier.iter().find(|(until, _)| registration_year < *until))
        .map_or(district, |(_, code)| parse_area(code))
}

fn parse_area(code: &str) -> AreaCode {
    AreaCode::parse(code).expect("the generator's area codes are in the embedded GB/T 2260 table")
}

/// A birth date that makes a person exactly `age` on `today`.
pub(crate) fn birth_date_for_age(
    generator: &mut Generator,
    today: NaiveDate,
    age: u32,
) -> NaiveDate {
    let latest = today
        .checked_sub_months(Months::new(12 * age))
        .expect("ages below 120 stay far inside chrono's date range");
    latest - Days::new(u64::from(generator.integer(0, 364)))
}

/// Issues identity numbers whose 顺序码 is unique per area and birth date.
#[derive(Default)]
pub(crate) struct IdentityNumbers {
    used_sequences: HashMap<(&'static str, i32), Vec<u16>>,
}

impl IdentityNumbers {
    /// A new identity number. Sequences are drawn at random with the sex's parity; when
    /// a day is crowded the first free sequence is taken, and when all 499 or 500 of a
    /// sex are taken the person is registered a day earlier.
    pub(crate) fn issue(
        &mut self,
        generator: &mut Generator,
        area: AreaCode,
        birth: NaiveDate,
        sex: Sex,
    ) -> CitizenId {
        let mut birth = birth;
        loop {
            let used = self
                .used_sequences
                .entry((area.as_str(), birth.num_days_from_ce()))
                .or_default();
            let parity = u16::from(sex == Sex::Male);
            let random = (0..32)
                .map(|_| random_sequence(generator, parity))
                .find(|sequence| !used.contains(sequence));
            let free = random.or_else(|| {
                (1..=999_u16).find(|sequence| sequence % 2 == parity && !used.contains(sequence))
            });
            if let Some(sequence) = free {
                used.push(sequence);
                return CitizenId::from_parts(&area, birth, sequence)
                    .expect("a table area, a birth year after 1850 and a sequence 1–999 make an identity number");
            }
            birth = birth
                .pred_opt()
                .expect("birth dates stay far inside chrono's range");
        }
    }
}

/// An odd (men, `parity` 1) or even non-zero (women) sequence from 1 to 999.
fn random_sequence(generator: &mut Generator, parity: u16) -> u16 {
    let half = if parity == 1 {
        generator.integer(0, 499)
    } else {
        generator.integer(1, 499)
    };
    u16::try_from(half * 2).expect("at most 998") + parity
}

/// Issues distinct mobile numbers.
#[derive(Default)]
pub(crate) struct PhoneNumbers {
    used: HashSet<u64>,
}

impl PhoneNumbers {
    pub(crate) fn issue(&mut self, generator: &mut Generator) -> Phone {
        loop {
            let prefix = *generator.pick(&MOBILE_PREFIXES);
            let number = prefix * 100_000_000 + u64::from(generator.integer(0, 99_999_999));
            if self.used.insert(number) {
                return Phone::parse(&number.to_string())
                    .expect("eleven digits starting 13–19 are a mainland mobile number");
            }
        }
    }
}

/// The chance that a living person of `age` has a mobile phone on record.
pub(crate) fn phone_probability(age: u32) -> f64 {
    match age {
        0..=11 => 0.0,
        12..=17 => 0.55,
        18..=69 => 0.97,
        70..=79 => 0.85,
        _ => 0.6,
    }
}

/// The chance that a person of `age` holds a disability certificate (about 2 % overall).
pub(crate) fn disability_probability(age: u32) -> f64 {
    match age {
        0..=59 => 0.012,
        60..=79 => 0.035,
        _ => 0.07,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generator::Stage;

    fn generator() -> Generator {
        let today = NaiveDate::from_ymd_opt(2026, 3, 1).expect("a valid date");
        Generator::for_stage(3, Stage::Population, today)
    }

    #[test]
    fn every_birthplace_code_is_in_the_table() {
        for (code, _) in BIRTHPLACES_ELSEWHERE {
            AreaCode::parse(code).expect(code);
        }
        for code in UYGHUR_HOMETOWNS {
            AreaCode::parse(code).expect(code);
        }
        for (_, earlier) in EARLIER_DISTRICT_CODES {
            for (_, code) in earlier {
                AreaCode::parse(code).expect(code);
            }
        }
    }

    #[test]
    fn jiangdu_natives_carry_the_code_of_their_registration_year() {
        let jiangdu = parse_area("321012");
        assert_eq!(code_at_first_registration(jiangdu, 1950).as_str(), "321026");
        assert_eq!(code_at_first_registration(jiangdu, 2000).as_str(), "321088");
        assert_eq!(code_at_first_registration(jiangdu, 2015).as_str(), "321012");
        assert_eq!(
            code_at_first_registration(parse_area("321002"), 1950).as_str(),
            "321002"
        );
    }

    #[test]
    fn a_crowded_birthday_still_gets_distinct_numbers() {
        let mut generator = generator();
        let mut numbers = IdentityNumbers::default();
        let area = parse_area("321002");
        let birth = NaiveDate::from_ymd_opt(1990, 5, 17).expect("a valid date");
        let issued: Vec<CitizenId> = (0..1_200)
            .map(|_| numbers.issue(&mut generator, area, birth, Sex::Male))
            .collect();
        let distinct: HashSet<&str> = issued.iter().map(CitizenId::as_str).collect();
        assert_eq!(distinct.len(), issued.len());
        assert!(issued.iter().all(|id| id.sex() == Sex::Male));
        assert_eq!(
            issued.iter().filter(|id| id.birth_date() == birth).count(),
            500
        );
        assert!(
            issued
                .iter()
                .all(|id| CitizenId::parse(id.as_str()).is_ok())
        );
    }

    #[test]
    fn uyghur_children_carry_their_fathers_name_after_the_dot() {
        let mut generator = generator();
        let member = |relationship, sex, age| MemberShape {
            relationship,
            sex,
            age,
        };
        let shapes = [
            member(Relationship::Head, Sex::Female, 38),
            member(Relationship::Spouse, Sex::Male, 40),
            member(Relationship::Daughter, Sex::Female, 10),
            member(Relationship::Father, Sex::Male, 66),
        ];
        for _ in 0..50 {
            let names = uyghur_family_names(&mut generator, &shapes);
            let parts: Vec<(&str, &str)> = names
                .iter()
                .map(|name| name.split_once('·').expect("a middle dot"))
                .collect();
            assert_eq!(
                parts[2].1, parts[1].0,
                "the daughter carries the husband's name: {names:?}"
            );
            assert_eq!(
                parts[3].0, parts[0].1,
                "the head's father is the name the head carries: {names:?}"
            );
            assert_ne!(
                parts[0].0, parts[2].0,
                "mother and daughter have different names: {names:?}"
            );
        }
    }

    #[test]
    fn birth_dates_give_the_requested_age() {
        let mut generator = generator();
        let today = generator.today();
        for age in 0..105 {
            let birth = birth_date_for_age(&mut generator, today, age);
            assert_eq!(today.years_since(birth), Some(age));
        }
    }
}
