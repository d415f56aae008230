//! Household composition (户的结构): which kinds of family live in the city, how old their
//! members are and how they relate to the head, and the household records built from them.
//!
//! The mix of family kinds is what produces the city's age pyramid (a bulge at 30–60,
//! fewer children, a quarter aged 60 and over) and its mean household size of about 2.6.
//! Ages follow the relationships: a spouse is of the opposite sex and of similar age,
//! children are 22–38 years younger than their younger parent, the head's parents are
//! 22–34 years older, grandchildren are a generation below a married child. This module
//! decides shapes only; names, birthplaces and identity numbers are `people`'s job, and
//! addresses are `housing`'s.

use crate::generator::{Generator, WeightedTable};
use crate::housing::Housing;
use crate::population::Population;
use huimin_domain::identifiers::Sex;
use huimin_domain::registry::{Household, HouseholdKind, HouseholdMember, Relationship};

/// One member of a planned family, before they are a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MemberShape {
    pub relationship: Relationship,
    pub sex: Sex,
    /// Completed years of age on the generation day.
    pub age: u32,
}

/// The kinds of family the city is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FamilyKind {
    /// 独居老人 — one person aged 62 and over.
    ElderlyAlone,
    /// A young adult living alone.
    YoungSingle,
    /// A divorced, widowed or unmarried person of 41–64 living alone.
    MiddleAgedSingle,
    /// Both partners 60 and over.
    ElderlyCouple,
    /// 空巢 — a couple of 45–64 whose children have left.
    EmptyNestCouple,
    /// A couple of 23–34 without children yet.
    YoungCouple,
    CoupleWithOneChild,
    CoupleWithTwoChildren,
    SingleParent,
    /// A couple, their children and one or both of the head's parents.
    ThreeGenerationsWithParents,
    /// An older couple (or widowed head), a married child with their spouse, and
    /// grandchildren.
    ThreeGenerationsWithGrandchildren,
}

/// Families of people registered in the city (户籍户). The weights are tuned so that about
/// a quarter of the population is 60 or over, as in Yangzhou.
const LOCAL_FAMILY_KINDS: [(FamilyKind, u32); 11] = [
    (FamilyKind::ElderlyAlone, 85),
    (FamilyKind::YoungSingle, 45),
    (FamilyKind::MiddleAgedSingle, 25),
    (FamilyKind::ElderlyCouple, 200),
    (FamilyKind::EmptyNestCouple, 100),
    (FamilyKind::YoungCouple, 45),
    (FamilyKind::CoupleWithOneChild, 200),
    (FamilyKind::CoupleWithTwoChildren, 100),
    (FamilyKind::SingleParent, 35),
    (FamilyKind::ThreeGenerationsWithParents, 85),
    (FamilyKind::ThreeGenerationsWithGrandchildren, 95),
];

/// Families of the floating population (流动人口), who come to work: young singles and
/// young families.
const MIGRANT_FAMILY_KINDS: [(FamilyKind, u32); 4] = [
    (FamilyKind::YoungSingle, 40),
    (FamilyKind::YoungCouple, 20),
    (FamilyKind::CoupleWithOneChild, 33),
    (FamilyKind::CoupleWithTwoChildren, 7),
];

/// Draws family shapes.
pub(crate) struct FamilyComposer {
    local_kinds: WeightedTable<FamilyKind>,
    migrant_kinds: WeightedTable<FamilyKind>,
}

impl FamilyComposer {
    pub(crate) fn new() -> FamilyComposer {
        FamilyComposer {
            local_kinds: WeightedTable::new(&LOCAL_FAMILY_KINDS),
            migrant_kinds: WeightedTable::new(&MIGRANT_FAMILY_KINDS),
        }
    }

    /// The members of a new family, head first. Later members depend on earlier ones, so
    /// truncating the list from the end keeps it consistent.
    pub(crate) fn compose(&self, generator: &mut Generator, migrant: bool) -> Vec<MemberShape> {
        let kind = if migrant {
            self.migrant_kinds.sample(generator)
        } else {
            self.local_kinds.sample(generator)
        };
        let mut members = Vec::with_capacity(6);
        match kind {
            FamilyKind::ElderlyAlone => {
                // Widows outnumber widowers: women live longer.
                let sex = if generator.chance(0.66) {
                    Sex::Female
                } else {
                    Sex::Male
                };
                let age = generator.integer(62, 80) + generator.integer(0, 16);
                members.push(head(sex, age));
            }
            FamilyKind::YoungSingle => {
                let sex = if generator.chance(0.58) {
                    Sex::Male
                } else {
                    Sex::Female
                };
                let age = if migrant {
                    generator.integer(18, 45)
                } else {
                    generator.integer(20, 38)
                };
                members.push(head(sex, age));
            }
            FamilyKind::MiddleAgedSingle => {
                let sex = random_sex(generator);
                members.push(head(sex, generator.integer(41, 64)));
            }
            FamilyKind::ElderlyCouple => {
                let husband_age = generator.integer(60, 72) + generator.integer(0, 16);
                push_couple(generator, &mut members, husband_age);
            }
            FamilyKind::EmptyNestCouple => {
                let husband_age = generator.integer(48, 64);
                push_couple(generator, &mut members, husband_age);
            }
            FamilyKind::YoungCouple => {
                let husband_age = generator.integer(24, 34);
                push_couple(generator, &mut members, husband_age);
            }
            FamilyKind::CoupleWithOneChild => {
                let husband_age = if migrant {
                    generator.integer(25, 48)
                } else {
                    generator.integer(28, 62)
                };
                push_couple(generator, &mut members, husband_age);
                push_children(generator, &mut members, 1);
            }
            FamilyKind::CoupleWithTwoChildren => {
                let husband_age = if migrant {
                    generator.integer(28, 48)
                } else {
                    generator.integer(32, 58)
                };
                push_couple(generator, &mut members, husband_age);
                push_children(generator, &mut members, 2);
            }
            FamilyKind::SingleParent => {
                let sex = if generator.chance(0.75) {
                    Sex::Female
                } else {
                    Sex::Male
                };
                members.push(head(sex, generator.integer(30, 56)));
                push_children(generator, &mut members, 1);
            }
            FamilyKind::ThreeGenerationsWithParents => {
                let husband_age = generator.integer(32, 52);
                push_couple(generator, &mut members, husband_age);
                let children = if generator.chance(0.7) { 1 } else { 2 };
                push_children(generator, &mut members, children);
                push_parents_of_head(generator, &mut members);
            }
            FamilyKind::ThreeGenerationsWithGrandchildren => {
                push_three_generations_with_grandchildren(generator, &mut members);
            }
        }
        members
    }
}

/// The household records of all families at their house's address: registered
/// households (户籍户) for local families, co-resident families (共同生活家庭) for the
/// floating population, whose registration is elsewhere. Household numbers are nine
/// digits, unique across both kinds.
pub(crate) fn register(population: &Population, housing: &Housing) -> Vec<Household> {
    population
        .families
        .iter()
        .enumerate()
        .map(|(index, family)| {
            let number = format!("{:09}", 100_000_001 + index);
            let kind = if family.migrant {
                HouseholdKind::CoResident
            } else {
                HouseholdKind::Registered
            };
            let address = housing
                .houses
                .get(housing.family_house[index])
                .map(|house| house.address.line())
                .unwrap_or_default();
            let members = family
                .members
                .iter()
                .map(|&(person, relationship)| HouseholdMember {
                    citizen_id: population.persons[person].citizen_id.clone(),
                    relationship,
                })
                .collect();
            Household::new(&number, kind, &address, members).expect(
                "generated households have a digit number, one head and distinct identity numbers",
            )
        })
        .collect()
}

fn head(sex: Sex, age: u32) -> MemberShape {
    MemberShape {
        relationship: Relationship::Head,
        sex,
        age,
    }
}

fn random_sex(generator: &mut Generator) -> Sex {
    if generator.chance(0.5) {
        Sex::Male
    } else {
        Sex::Female
    }
}

/// A child's sex: slightly more boys, as in China's birth statistics.
fn child_sex(generator: &mut Generator) -> Sex {
    if generator.chance(0.52) {
        Sex::Male
    } else {
        Sex::Female
    }
}

fn son_or_daughter(sex: Sex) -> Relationship {
    match sex {
        Sex::Male => Relationship::Son,
        Sex::Female => Relationship::Daughter,
    }
}

/// The wife's age for a husband of `husband_age`: usually one to three years younger,
/// never under the legal marrying age of 20.
fn wife_age(generator: &mut Generator, husband_age: u32) -> u32 {
    let difference = generator.integer(0, 6) as i64 - 1 - i64::from(generator.chance(0.3));
    u32::try_from((i64::from(husband_age) - difference).max(20)).unwrap_or(20)
}

/// Head and spouse. The husband is the head in most registered households.
fn push_couple(generator: &mut Generator, members: &mut Vec<MemberShape>, husband_age: u32) {
    let husband_age = husband_age.max(22);
    let wife_age = wife_age(generator, husband_age);
    if generator.chance(0.78) {
        members.push(head(Sex::Male, husband_age));
        members.push(MemberShape {
            relationship: Relationship::Spouse,
            sex: Sex::Female,
            age: wife_age,
        });
    } else {
        members.push(head(Sex::Female, wife_age));
        members.push(MemberShape {
            relationship: Relationship::Spouse,
            sex: Sex::Male,
            age: husband_age,
        });
    }
}

/// Children of the head (and spouse, when there is one), born when their younger parent
/// was 22–38 and the head no older than 44. Nobody is added when the parents are too
/// young; a second child is one to seven years younger than the first.
fn push_children(generator: &mut Generator, members: &mut Vec<MemberShape>, count: u32) {
    let head_age = members.first().map_or(0, |member| member.age);
    let younger_parent_age = members
        .iter()
        .take(2)
        .map(|member| member.age)
        .min()
        .unwrap_or(head_age);
    let mut previous_child_age: Option<u32> = None;
    for _ in 0..count {
        let age = match previous_child_age {
            None => {
                // The gap to the younger parent is 22–38; the head, who may be the
                // older parent, must not be more than 44 years older than the child.
                let head_excess = head_age.saturating_sub(younger_parent_age);
                let widest_gap = 38
                    .min(younger_parent_age)
                    .min(44_u32.saturating_sub(head_excess));
                if widest_gap < 22 {
                    return;
                }
                // Most births fall at 25–33; the sum of two draws peaks there.
                let gap =
                    (21 + generator.integer(0, 8) + generator.integer(0, 8)).clamp(22, widest_gap);
                younger_parent_age - gap
            }
            Some(previous) => {
                // Younger siblings follow within seven years, while the head is still at
                // most 44 and the younger parent at most 42 years older than them.
                let youngest_possible = head_age
                    .saturating_sub(44)
                    .max(younger_parent_age.saturating_sub(42));
                let gap = generator.integer(1, 7);
                if previous < gap || previous - gap < youngest_possible {
                    return;
                }
                previous - gap
            }
        };
        let sex = child_sex(generator);
        members.push(MemberShape {
            relationship: son_or_daughter(sex),
            sex,
            age,
        });
        previous_child_age = Some(age);
    }
}

/// One or both of the head's parents, 22–34 years older than the head.
fn push_parents_of_head(generator: &mut Generator, members: &mut Vec<MemberShape>) {
    let head_age = members.first().map_or(0, |member| member.age);
    let father_age = head_age + generator.integer(24, 34);
    let mother_age = father_age
        .saturating_sub(generator.integer(0, 5))
        .max(head_age + 22);
    let both = generator.chance(0.55);
    let mother_only = !both && generator.chance(0.67);
    if (both || !mother_only) && father_age <= 98 {
        members.push(MemberShape {
            relationship: Relationship::Father,
            sex: Sex::Male,
            age: father_age,
        });
    }
    if (both || mother_only) && mother_age <= 100 {
        members.push(MemberShape {
            relationship: Relationship::Mother,
            sex: Sex::Female,
            age: mother_age,
        });
    }
}

/// An older head (with a spouse, unless widowed), a married son with his wife or a
/// married daughter with her husband, and one or two grandchildren.
fn push_three_generations_with_grandchildren(
    generator: &mut Generator,
    members: &mut Vec<MemberShape>,
) {
    let married_child_age = generator.integer(25, 44);
    let younger_parent_age = married_child_age + generator.integer(23, 32);
    if generator.chance(0.8) {
        // The husband is a few years older than the younger parent, so whichever of the
        // couple is the younger is still 21 or more years older than the married child.
        let husband_age = younger_parent_age + generator.integer(3, 6);
        push_couple(generator, members, husband_age);
    } else {
        let sex = if generator.chance(0.7) {
            Sex::Female
        } else {
            Sex::Male
        };
        members.push(head(sex, younger_parent_age));
    }
    let married_child_sex = if generator.chance(0.7) {
        Sex::Male
    } else {
        Sex::Female
    };
    let in_law_sex = match married_child_sex {
        Sex::Male => Sex::Female,
        Sex::Female => Sex::Male,
    };
    let in_law_age = (married_child_age + generator.integer(0, 6))
        .saturating_sub(3)
        .max(22);
    members.push(MemberShape {
        relationship: son_or_daughter(married_child_sex),
        sex: married_child_sex,
        age: married_child_age,
    });
    members.push(MemberShape {
        relationship: Relationship::SonOrDaughterInLaw,
        sex: in_law_sex,
        age: in_law_age,
    });
    let younger_of_couple = married_child_age.min(in_law_age);
    if younger_of_couple < 22 {
        return;
    }
    let first_grandchild_age = younger_of_couple - generator.integer(22, 34.min(younger_of_couple));
    let second_grandchild_age = generator
        .chance(0.35)
        .then(|| first_grandchild_age.checked_sub(generator.integer(1, 6)))
        .flatten();
    for age in std::iter::once(first_grandchild_age).chain(second_grandchild_age) {
        let sex = child_sex(generator);
        members.push(MemberShape {
            relationship: Relationship::Grandchild,
            sex,
            age,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generator::Stage;
    use chrono::NaiveDate;

    #[test]
    fn compositions_are_consistent_with_relationships() {
        let today = NaiveDate::from_ymd_opt(2026, 1, 1).expect("a valid date");
        let mut generator = Generator::for_stage(11, Stage::Population, today);
        let composer = FamilyComposer::new();
        let mut people = 0;
        let mut families = 0;
        for round in 0..20_000 {
            let members = composer.compose(&mut generator, round % 7 == 0);
            families += 1;
            people += members.len();
            let head = members[0];
            assert_eq!(head.relationship, Relationship::Head);
            assert!(head.age >= 18, "{members:?}");
            assert_eq!(
                members
                    .iter()
                    .filter(|member| member.relationship == Relationship::Head)
                    .count(),
                1
            );
            for member in &members[1..] {
                let gap = i64::from(head.age) - i64::from(member.age);
                match member.relationship {
                    Relationship::Spouse => {
                        assert_ne!(member.sex, head.sex);
                        assert!(gap.abs() <= 10, "{members:?}");
                    }
                    Relationship::Son | Relationship::Daughter => {
                        assert!((18..=45).contains(&gap), "{members:?}")
                    }
                    Relationship::Father | Relationship::Mother => {
                        assert!((-45..=-18).contains(&gap), "{members:?}")
                    }
                    Relationship::Grandchild => assert!(gap >= 36, "{members:?}"),
                    Relationship::SonOrDaughterInLaw => {
                        assert!((15..=45).contains(&gap), "{members:?}")
                    }
                    other => panic!("unexpected relationship {other:?}"),
                }
            }
        }
        let mean = people as f64 / families as f64;
        assert!((2.3..=2.9).contains(&mean), "mean family size {mean}");
    }
}
